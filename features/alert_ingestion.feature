@ingestion
Feature: Alertmanager alerts become remediation requests
  As the operator of a cluster
  I want every firing alert that Alertmanager sends to become a remediation request
  So that no problem that monitoring sees is left without follow-up

  Each scenario works in a namespace of its own; the alerts name that namespace.

  @BR-GATEWAY-001 @BR-GATEWAY-015
  Scenario: A single firing alert becomes a remediation request
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the response reports 1 created
    And a remediation request exists for "HighMemoryUsage" on pod "api-7f9c"
    And its occurrence count is 1

  @BR-GATEWAY-001
  Scenario: Every alert in a batch is processed, not only the first
    When Alertmanager sends a batch of firing alerts:
      | alert          | kind       | target    | severity |
      | HighMemory     | pod        | web-1     | critical |
      | HighMemory     | pod        | web-2     | critical |
      | ReplicasDown   | deployment | checkout  | warning  |
    Then the gateway answers 201
    And the response reports 3 created
    And the namespace holds exactly 3 remediation requests

  @BR-GATEWAY-001
  Scenario: A real Alertmanager notification of three alerts creates three requests
    When Alertmanager sends the recorded notification "batch-3-firing"
    Then the gateway answers 201
    And the response reports 3 created
    And the namespace holds exactly 3 remediation requests

  @BR-GATEWAY-001 @BR-GATEWAY-010
  Scenario: A batch that repeats a known alert creates the new one and counts the known one
    Given Alertmanager has sent a firing alert "HighMemory" with severity "critical" for pod "web-1"
    When Alertmanager sends a batch of firing alerts:
      | alert      | kind | target | severity |
      | HighMemory | pod  | web-1  | critical |
      | HighMemory | pod  | web-2  | critical |
    Then the gateway answers 201
    And the response reports 1 created and 1 duplicate
    And the namespace holds exactly 2 remediation requests

  @BR-GATEWAY-005
  Scenario: A resolved alert is acknowledged and creates nothing
    When Alertmanager sends a resolved alert "HighMemoryUsage" for pod "api-7f9c"
    Then the gateway answers 200
    And the response reports 1 ignored
    And the namespace holds no remediation requests
    And the gateway made no change to the cluster

  @BR-GATEWAY-001 @BR-GATEWAY-005
  Scenario: In a real notification, each alert's own status decides
    Given Alertmanager has sent the recorded notification "batch-3-firing"
    When Alertmanager sends the recorded notification "batch-mixed-resolved"
    Then the gateway answers 202
    And the response reports 2 duplicate and 1 ignored
    And the namespace holds exactly 3 remediation requests

  @BR-GATEWAY-015
  Scenario: An unknown severity is treated as a warning and kept as sent
    When Alertmanager sends a firing alert "DiskPressure" with severity "sev-2" for pod "db-0"
    Then the gateway answers 201
    And the remediation request for "DiskPressure" on pod "db-0" has severity "warning"
    And the remediation request for "DiskPressure" on pod "db-0" keeps the label "severity" as "sev-2"

  @BR-GATEWAY-015
  Scenario Outline: The target is taken from the alert's most specific label
    When Alertmanager sends a firing alert "TargetCheck" with severity "warning" for <kind> "<name>"
    Then the gateway answers 201
    And a remediation request exists for "TargetCheck" on <kind> "<name>"
    And the remediation request for "TargetCheck" on <kind> "<name>" targets a <Kind> named "<name>" in this namespace

    Examples:
      | kind        | name      | Kind        |
      | pod         | api-0     | Pod         |
      | deployment  | checkout  | Deployment  |
      | statefulset | postgres  | StatefulSet |
      | daemonset   | fluentbit | DaemonSet   |
      | service     | frontend  | Service     |

  @BR-GATEWAY-015
  Scenario: An alert that names both a pod and its deployment is about the pod
    When Alertmanager sends a firing alert "TargetCheck" for pod "api-0" that also names deployment "api"
    Then the gateway answers 201
    And the remediation request for "TargetCheck" on pod "api-0" targets a Pod named "api-0" in this namespace
