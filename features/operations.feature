@ops
Feature: The gateway can be operated safely
  As the platform team that runs the gateway
  I want it to report its health and work truthfully, with no more rights than it needs,
  and to stop without losing what it accepted

  @BR-GATEWAY-030 @launched-gateway
  Scenario: Readiness follows the reachability of the Kubernetes API
    Given a dedicated gateway with its own path to the Kubernetes API
    Then the gateway reports ready
    When the Kubernetes API becomes unreachable
    Then the gateway reports not ready
    And the gateway still reports alive
    When the Kubernetes API becomes reachable again
    Then the gateway reports ready

  @BR-GATEWAY-030 @BR-GATEWAY-020 @launched-gateway
  Scenario: During a full API outage signals are refused, then stored once after it
    Given a dedicated gateway with its own path to the Kubernetes API
    When the Kubernetes API becomes unreachable
    And Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    When the Kubernetes API becomes reachable again
    Then the gateway reports ready
    When Alertmanager delivers the same notification again
    Then the gateway answers 201
    And the namespace holds exactly 1 remediation request

  @BR-GATEWAY-031 @launched-gateway
  Scenario: Metrics count what the gateway received, created, counted as repeats and retried
    Given a dedicated gateway with its own path to the Kubernetes API
    And the Kubernetes API will fail the next 1 attempt to create a remediation request with status 503
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    And Alertmanager sends a resolved alert "HighMemoryUsage" for pod "api-7f9c"
    Then the gateway's metrics show:
      | metric                                           | value |
      | gateway_signals_received_total{source="prometheus"}     | 3     |
      | gateway_signals_created_total{source="prometheus"}      | 1     |
      | gateway_signals_deduplicated_total{source="prometheus"} | 1     |
      | gateway_signals_ignored_total{source="prometheus"}      | 1     |
      | gateway_k8s_api_retries_total{reason="503"}             | 1     |
    And the gateway's metrics time exactly 3 alert requests

  @BR-GATEWAY-031 @launched-gateway
  Scenario: A request created while its answer was lost is counted created once the gateway knows
    The first occurrence's status write lands but its answer is lost, and every retry fails, so
    the gateway answers 503 without knowing that it created the request: it says so in
    gateway_unconfirmed_creations. The redelivery is a duplicate, and its write shows that the
    lost one landed: the creation is counted then, once.

    Given a dedicated gateway with its own path to the Kubernetes API
    And the Kubernetes API will carry out the next attempt to update a remediation request's status but lose its answer
    And the Kubernetes API will fail the next 5 attempts to update a remediation request's status with status 503
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the fault fired 5 times
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1
    And the gateway's metrics show:
      | metric                                                  | value |
      | gateway_signals_created_total{source="prometheus"}      | 0     |
      | gateway_unconfirmed_creations                           | 1     |
    When Alertmanager delivers the same notification again
    Then the gateway answers 202
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2
    And the gateway's metrics show:
      | metric                                                  | value |
      | gateway_signals_created_total{source="prometheus"}      | 1     |
      | gateway_signals_deduplicated_total{source="prometheus"} | 1     |
      | gateway_unconfirmed_creations                           | 0     |

  @BR-GATEWAY-031 @launched-gateway
  Scenario: A first write whose answer was lost is declared while its request still retries
    gateway_unconfirmed_creations counts the write from the moment its answer is lost, not from
    when the request gives up: a process that dies while the request still retries holds that
    write too. The five retries (the suite's gateways make 6 attempts) get no answer at all, each
    for its 3-second call timeout, so the request stays in flight for more than 15 seconds. (The
    call timeout also bounds the scraper's TokenReview, which a loaded API server can take more
    than 2 seconds to answer; /metrics would then answer 503.)

    Given a dedicated gateway with its own path to the Kubernetes API, a request deadline of 25 seconds and an API call timeout of 3 seconds
    And the Kubernetes API will carry out the next attempt to update a remediation request's status but lose its answer
    And the Kubernetes API will fail the next 5 attempts to update a remediation request's status with no answer at all
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c" without waiting for the answer
    Then while the alert is in flight, the gateway's metrics show:
      | metric                                             | value |
      | gateway_unconfirmed_creations                      | 1     |
      | gateway_signals_created_total{source="prometheus"} | 0     |
    And the alert in flight is answered 503
    And the fault fired 5 times
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-031 @launched-gateway
  Scenario: Metrics count every alert of a batch, and time the request once
    Given a dedicated gateway with its own path to the Kubernetes API
    When Alertmanager sends a batch of firing alerts:
      | alert      | kind | target | severity |
      | HighMemory | pod  | web-1  | critical |
      | HighMemory | pod  | web-2  | critical |
      | HighMemory | pod  | web-3  | critical |
    Then the gateway answers 201
    And the gateway's metrics show:
      | metric                                              | value |
      | gateway_signals_received_total{source="prometheus"} | 3     |
      | gateway_signals_created_total{source="prometheus"}  | 3     |
    And the gateway's metrics time exactly 1 alert request

  @BR-GATEWAY-032 @launched-gateway
  Scenario: The gateway does its work under its own identity
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And every request the gateway made to the Kubernetes API used its own service account

  @BR-GATEWAY-032 @launched-gateway
  Scenario: The gateway holds no permission beyond its manifest, and lacks none of it
    Then the gateway's identity holds exactly the resource permissions of gateway/config/rbac/role.yaml

  @BR-GATEWAY-032 @BR-GATEWAY-183
  Scenario: A sender bound with the shipped sender role may raise signals, and do nothing else
    Then a sender bound in this namespace holds exactly the resource permissions of gateway/config/rbac/sender_role.yaml

  @BR-GATEWAY-032
  Scenario Outline: The gateway may do what its work needs, and nothing else
    Then the gateway's identity <may or may not> <verb> <resource>

    Examples:
      | may or may not | verb   | resource                           |
      | may            | create | remediation requests               |
      | may            | list   | remediation requests               |
      | may            | get    | remediation requests               |
      | may            | update | remediation request status         |
      | may            | get    | remediation request status         |
      | may not        | delete | remediation requests               |
      | may not        | update | remediation requests               |
      | may not        | get    | secrets                            |
      | may not        | list   | namespaces                         |
      | may not        | create | events                             |
      | may            | create | token reviews                      |
      | may            | create | access reviews                     |
      | may not        | get    | token reviews                      |
      | may not        | list   | access reviews                     |

  @BR-GATEWAY-040 @launched-gateway
  Scenario: On shutdown, signals in flight are completed and stored
    The batch's four API calls take at least 4 seconds (each is delayed 1 second), longer than the
    2 seconds /readyz answers 503 before the gateway stops listening: it is still in flight while
    the gateway drains. Its gateway is patient (4 s per call, a 20 s deadline, a 25 s drain), so
    that a loaded API server's own time on top of the delay does not turn the batch into a 503
    (`make flake LOAD=1` shares two cores with a CPU burner and 16 scenarios at once).

    Given a dedicated gateway with its own path to the Kubernetes API, a request deadline of 20 seconds, an API call timeout of 4 seconds and a shutdown timeout of 25 seconds
    And the Kubernetes API answers this namespace's requests after a delay of 1000 milliseconds
    When Alertmanager sends a batch of firing alerts without waiting for the answer:
      | alert           | kind | target   | severity |
      | HighMemoryUsage | pod  | api-7f9c | critical |
      | HighCPUUsage    | pod  | api-7f9c | warning  |
    And the gateway is told to stop while the batch is in flight
    Then the gateway reports not ready while it stops
    And the batch in flight is answered 201
    And the gateway process exits cleanly
    And a remediation request exists for "HighMemoryUsage" on pod "api-7f9c"
    And a remediation request exists for "HighCPUUsage" on pod "api-7f9c"
