@resilience @launched-gateway
Feature: Signals survive Kubernetes API failures
  As the operator of a cluster
  I want the gateway to ride out a struggling Kubernetes API without losing or doubling a signal
  So that an incident in the control plane does not hide the incidents it causes

  Faults are real: the gateway reaches the Kubernetes API through a proxy that fails the
  requests of this scenario's namespace only. Each fault must be seen to fire, or the
  scenario fails.

  The suite runs the gateway with its production retry policy, made short: up to 6 attempts
  per Kubernetes call, backoff from 50 milliseconds doubling to at most 800 milliseconds, one
  call given up after 1 second, all the work of one request within a 5-second deadline, and
  senders asked to come back after 1 second. (`make flake LOAD=1`, which loads the machine on
  purpose, gives each call 3 seconds and a request 15; the bounds the scenarios check follow.)

  @BR-GATEWAY-018
  Scenario Outline: A transient API failure is retried until the request is created
    Given the Kubernetes API will fail the next 2 attempts to create a remediation request with <failure>
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the fault fired 2 times
    And a remediation request exists for "HighMemoryUsage" on pod "api-7f9c"
    And the namespace holds exactly 1 remediation request

    Examples:
      | failure                 |
      | status 500              |
      | status 502              |
      | status 503              |
      | status 504              |
      | a reset connection      |
      | a dropped connection    |
      | no answer at all        |

  @BR-GATEWAY-018
  Scenario: Retries back off further each time
    Given the Kubernetes API will fail the next 4 attempts to create a remediation request with status 503
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the fault fired 4 times
    And the waits between the gateway's retries never shrank, and the last was at least twice the first

  @BR-GATEWAY-018
  Scenario: A failure while counting a repeat is retried too
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And the Kubernetes API will fail the next 2 attempts to update a remediation request's status with status 503
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the fault fired 2 times
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2

  @BR-GATEWAY-019
  Scenario: When the API asks the gateway to slow down, it waits as long as asked
    Given the Kubernetes API will throttle the next attempt to create a remediation request, asking for a retry after 1 second
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the fault fired 1 time
    And the gateway waited at least 1 second before trying again

  @BR-GATEWAY-020
  Scenario: A signal that cannot be stored is refused so that Alertmanager sends it again
    Given the Kubernetes API fails every attempt to create a remediation request with status 503
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the fault fired at least 2 times
    And the namespace holds no remediation requests
    When the Kubernetes API recovers
    And Alertmanager delivers the same notification again
    Then the gateway answers 201
    And the namespace holds exactly 1 remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-020 @BR-GATEWAY-001
  Scenario: Alertmanager redelivering a batch through an outage ends with each alert stored once
    The outage outlasts the gateway's request deadline, so the first delivery is refused on a slow
    API as on a fast one; Alertmanager's redeliveries then store each alert once.

    Given the Kubernetes API will fail attempts to create a remediation request with status 503 for the next 6 seconds
    When Alertmanager delivers a batch of firing alerts, redelivering on 503 until it is accepted:
      | alert      | kind       | target   | severity |
      | HighMemory | pod        | web-1    | critical |
      | HighMemory | pod        | web-2    | critical |
      | Saturation | deployment | checkout | warning  |
    Then the gateway answered 503 at least once before accepting the batch
    And the fault fired at least 2 times
    And the namespace holds exactly 3 remediation requests
    And each alert of the batch has exactly one remediation request

  @BR-GATEWAY-020 @BR-GATEWAY-001
  Scenario: A batch that is stored only in part is refused, and its redelivery stores the rest once
    Each delivery of the known alert counts as one more occurrence of it; the new alert is
    created once, on the delivery that succeeds.

    Given Alertmanager has sent a firing alert "HighMemory" with severity "critical" for pod "web-1"
    And the Kubernetes API fails every attempt to create a remediation request with status 503
    When Alertmanager sends a batch of firing alerts:
      | alert      | kind | target | severity |
      | HighMemory | pod  | web-1  | critical |
      | HighMemory | pod  | web-2  | critical |
    Then the gateway answers 503 with a Retry-After header
    And the namespace holds exactly 1 remediation request
    When the Kubernetes API recovers
    And Alertmanager delivers the same notification again
    Then the gateway answers 201
    And the response reports 1 created and 1 duplicate
    And the namespace holds exactly 2 remediation requests
    And the remediation request for "HighMemory" on pod "web-1" has occurrence count 3
    And the remediation request for "HighMemory" on pod "web-2" has occurrence count 1

  @BR-GATEWAY-020 @BR-GATEWAY-010
  Scenario Outline: A write that took effect although its answer was lost is not made twice
    The API server carries out the call, and the connection drops before its answer reaches the
    gateway: the gateway cannot tell that it landed, and its retry must not create a second
    request or count the signal twice.

    Given the Kubernetes API will carry out the next attempt to <call> but lose its answer
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the fault fired 1 time
    And the namespace holds exactly 1 remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

    Examples:
      | call                                   |
      | create a remediation request           |
      | update a remediation request's status  |

  @BR-GATEWAY-020 @BR-GATEWAY-010
  Scenario: A repeat whose count landed although its answer was lost is counted once
    Given Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And the Kubernetes API will carry out the next attempt to update a remediation request's status but lose its answer
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the fault fired 1 time
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2

  @BR-GATEWAY-021
  Scenario Outline: A permanent API error is not retried
    Given the Kubernetes API will reject the next attempt to create a remediation request with status <status>
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 500 with problem details
    And the fault fired exactly 1 time
    And the gateway did not try again

    Examples:
      | status |
      | 400    |
      | 403    |
      | 422    |

  @BR-GATEWAY-022
  Scenario: A slow API within the deadline still succeeds
    Given the Kubernetes API answers this namespace's requests after a delay of 300 milliseconds
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the delay was applied to at least 2 requests
    And a remediation request exists for "HighMemoryUsage" on pod "api-7f9c"

  @BR-GATEWAY-022 @BR-GATEWAY-020
  Scenario: An API slower than the deadline gives 503, and nothing is acknowledged
    Given the Kubernetes API answers this namespace's requests after a delay of 6 seconds
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the delay was applied to at least 1 request
    And the namespace holds no remediation requests

  @BR-GATEWAY-020 @BR-GATEWAY-030 @container-faults @launched-gateway
  Scenario: While the API server is frozen, signals are refused with 503 and stored once after it thaws
    Given a gateway with a control plane of its own, in a container
    When the API server freezes
    And Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the gateway reports not ready
    When the API server thaws
    Then the gateway reports ready
    When Alertmanager delivers the same notification again
    Then the gateway answers 201
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-020 @BR-GATEWAY-030 @container-faults @launched-gateway
  Scenario: While the API server is off the network, signals are refused with 503 and stored once after it is back
    Given a gateway with a control plane of its own, in a container
    When the API server drops off the network
    And Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the gateway reports not ready
    When the API server is back on the network
    Then the gateway reports ready
    When Alertmanager delivers the same notification again
    Then the gateway answers 201
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-020 @BR-GATEWAY-010 @container-faults @launched-gateway
  Scenario: After the API server restarts, the gateway carries on where it was
    Given a gateway with a control plane of its own, in a container
    And Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    When the API server restarts
    Then the gateway reports ready
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2
