@crd
Feature: Remediation requests carry everything the remediation needs
  As the team that acts on remediation requests
  I want each request to say what fired, where, how badly and when
  So that we can act without going back to the monitoring system

  @BR-GATEWAY-015
  Scenario: A remediation request records the signal in full
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" is in this namespace
    And its fingerprint is the SHA-256 of the alert's name, namespace and target, and matches the response
    And it has severity "critical", signal type "prometheus-alert" and target type "kubernetes"
    And it targets a Pod named "api-7f9c" in this namespace
    And it records when the alert fired and when it was received
    And it is labelled with its fingerprint, severity, signal type and the gateway as manager
    And it keeps the original alert

  @BR-GATEWAY-015
  Scenario: Very long label values are cut to a safe length
    When Alertmanager sends a firing alert "LongLabels" for pod "api-0" with a label "description" of 5000 characters
    Then the gateway answers 201
    And the remediation request for "LongLabels" on pod "api-0" keeps at most 1024 characters of the label "description"

  @BR-GATEWAY-016
  Scenario: An alert for a namespace that does not exist goes to the fallback namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c" in a namespace that does not exist
    Then the gateway answers 201
    And a remediation request for "HighMemoryUsage" on pod "api-7f9c" is in the fallback namespace
    And it is labelled with the namespace the alert came from

  @BR-GATEWAY-016
  Scenario: An alert about a node goes to the fallback namespace
    When Alertmanager sends a firing alert "NodeDiskFull" with severity "critical" for node "node-a"
    Then the gateway answers 201
    And a remediation request for "NodeDiskFull" on node "node-a" is in the fallback namespace
    And it targets a Node named "node-a" with no namespace

  @BR-GATEWAY-016
  Scenario: A real Alertmanager notification about a node goes to the fallback namespace
    When Alertmanager sends the recorded notification "single-node-target"
    Then the gateway answers 201
    And the response reports 1 created in the fallback namespace

  @BR-GATEWAY-016 @controllers
  Scenario: An alert for a namespace that is being deleted goes to the fallback namespace
    Given the namespace is being deleted, held back by a finalizer
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And a remediation request for "HighMemoryUsage" on pod "api-7f9c" is in the fallback namespace
    And it is labelled as coming from this namespace

  @BR-GATEWAY-014 @BR-GATEWAY-010 @controllers
  Scenario: Remediation requests go with their namespace, and the next alert starts afresh
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    When the namespace is deleted and the cluster removes it with everything in it
    And the namespace is created again
    And Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the namespace holds exactly 1 remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-014 @launched-gateway
  Scenario: A request removed while the gateway could not see it is not counted on
    The gateway keeps a view of the remediation requests, fed by a watch; while the API is away,
    the view cannot learn of a removal, and is out of date when the API comes back.

    Given a dedicated gateway with its own path to the Kubernetes API
    And Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    When the Kubernetes API becomes unreachable
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" is deleted behind the gateway's back
    And the gateway reports not ready
    And the Kubernetes API becomes reachable again
    And Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the namespace holds exactly 1 remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1
