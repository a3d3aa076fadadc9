@dedup
Feature: Repeated signals are counted, not duplicated
  As the team that remediates problems
  I want one remediation request per ongoing problem, however often it is reported
  So that we work on each problem once and still see how often it recurred

  @BR-GATEWAY-010
  Scenario: A repeat of an active alert raises its count and creates nothing
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the response reports 1 duplicate
    And the namespace holds exactly 1 remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" was last seen after it was first seen

  @BR-GATEWAY-010
  Scenario: Many repeats, one after another, are all counted
    Given Alertmanager has sent a firing alert "HighLatency" with severity "warning" for service "frontend"
    When Alertmanager sends the same alert 4 more times, one after another
    Then every answer after the first is 202
    And the remediation request for "HighLatency" on service "frontend" has occurrence count 5

  @BR-GATEWAY-011
  Scenario Outline: Identical alerts sent at the same moment create exactly one request
    When Alertmanager sends <count> identical firing alerts "CrashLooping" for pod "worker-3" at once
    Then exactly one of the answers is 201 and the others are 202
    And the namespace holds exactly 1 remediation request
    And the remediation request for "CrashLooping" on pod "worker-3" has occurrence count <count>

    Examples:
      | count |
      | 5     |
      | 20    |

  @BR-GATEWAY-011 @launched-gateway
  Scenario: A count that meets a concurrent change is made again on the fresh request
    Another writer (a second gateway replica, or a controller writing the phase) changed the
    request between the gateway's read and its write, so the API refuses the write with 409
    Conflict: the gateway reads the request again and counts on the fresh version. Within one
    gateway, occurrences that arrive together are written together and do not meet; across
    replicas and controllers they do.

    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And the Kubernetes API will reject the next attempt to update a remediation request's status with status 409
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the fault fired 1 time
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2

  @BR-GATEWAY-012
  Scenario Outline: An alert after a finished remediation starts a new one
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And the remediation of "HighMemoryUsage" on pod "api-7f9c" has ended as "<phase>"
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the namespace holds exactly 2 remediation requests
    And the new remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

    Examples:
      | phase     |
      | Completed |
      | Failed    |
      | TimedOut  |
      | Skipped   |
      | Cancelled |

  @BR-GATEWAY-012 @BR-GATEWAY-010
  Scenario: An alert during a remediation that is still running is a repeat
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And the remediation of "HighMemoryUsage" on pod "api-7f9c" is in the phase "Executing"
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the namespace holds exactly 1 remediation request

  @BR-GATEWAY-013
  Scenario: The same alert for another resource is a different signal
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-1"
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-2"
    Then the gateway answers 201
    And the namespace holds exactly 2 remediation requests
    And the remediation requests for pod "api-1" and pod "api-2" have different fingerprints

  @BR-GATEWAY-013
  Scenario: The same alert in another namespace is a different signal
    Given a second namespace for this scenario
    And Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-1"
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-1" in the second namespace
    Then the gateway answers 201
    And the namespace holds exactly 1 remediation request
    And the second namespace holds exactly 1 remediation request
