@ingestion
Feature: Kubernetes Warning events become remediation requests
  As the operator of a cluster
  I want the warnings that Kubernetes itself reports to be followed up like alerts
  So that failures that no alert rule covers are still remediated

  @BR-GATEWAY-002 @BR-GATEWAY-015
  Scenario Outline: A Warning event becomes a remediation request with a severity taken from its reason
    When the cluster reports a Warning event "<reason>" for pod "worker-1"
    Then the gateway answers 201
    And a remediation request exists for "<reason>" on pod "worker-1"
    And the remediation request for "<reason>" on pod "worker-1" has severity "<severity>"
    And the remediation request for "<reason>" on pod "worker-1" came from a Kubernetes event

    Examples:
      | reason           | severity |
      | OOMKilled        | critical |
      | Evicted          | critical |
      | FailedScheduling | critical |
      | FailedMount      | critical |
      | BackOff          | warning  |
      | Unhealthy        | warning  |

  @BR-GATEWAY-002
  Scenario: A Normal event is acknowledged and ignored
    When the cluster reports a Normal event "Scheduled" for pod "worker-1"
    Then the gateway answers 200
    And the response reports 1 ignored
    And the namespace holds no remediation requests

  @BR-GATEWAY-002 @BR-GATEWAY-016
  Scenario: A warning about a node goes to the fallback namespace
    When the cluster reports a Warning event "NodeNotReady" for node "worker-node"
    Then the gateway answers 201
    And a remediation request for "NodeNotReady" on node "worker-node" is in the fallback namespace
    And the remediation request for "NodeNotReady" on node "worker-node" has severity "critical"

  @BR-GATEWAY-002 @BR-GATEWAY-010
  Scenario: A repeated Warning event is counted on the same request
    Given the cluster has reported a Warning event "BackOff" for pod "worker-1"
    When the cluster reports a Warning event "BackOff" for pod "worker-1"
    Then the gateway answers 202
    And the namespace holds exactly 1 remediation request
    And the remediation request for "BackOff" on pod "worker-1" has occurrence count 2
