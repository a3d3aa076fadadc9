@ops
Feature: The gateway deploys as shipped, with least privilege, and can be replaced while signals flow
  As the platform team that installs the gateway from its manifests
  I want the cluster to admit only a locked-down gateway, running on its own identity,
  and a rollout to lose no signal

  @BR-GATEWAY-050 @controllers
  Scenario: The shipped manifests apply cleanly and their Pods are admitted under the restricted level
    Given the shipped gateway manifests are applied to the scenario's namespace
    Then the API server admits the gateway's Pods under the restricted Pod Security level

  @BR-GATEWAY-050 @controllers
  Scenario: A privileged copy of the gateway's Deployment gets no Pod
    Given the shipped gateway manifests are applied to the scenario's namespace with the gateway's container made privileged
    Then the API server refuses the gateway's Pods, naming the restricted Pod Security level

  @BR-GATEWAY-051 @BR-GATEWAY-040 @launched-gateway
  Scenario: Replacing the gateway while senders keep sending loses nothing and doubles nothing
    Given a dedicated gateway with its own path to the Kubernetes API
    And an Alertmanager that sends to the gateway
    And a second namespace for this scenario
    When Alertmanager and a direct sender keep sending new alerts while the gateway is replaced
    Then every alert fired through Alertmanager has exactly one remediation request
    And every alert acknowledged to the direct sender has exactly one remediation request
