@ops
Feature: The gateway can be operated safely
  As the platform team that runs the gateway
  I want it to report its health and work truthfully, with no more rights than it needs,
  and to stop without losing what it accepted

  @BR-GATEWAY-030 @dedicated-gateway @launched-gateway
  Scenario: Readiness follows the reachability of the Kubernetes API
    Given a dedicated gateway with its own path to the Kubernetes API
    Then the gateway reports ready
    When the Kubernetes API becomes unreachable
    Then the gateway reports not ready
    And the gateway still reports alive
    When the Kubernetes API becomes reachable again
    Then the gateway reports ready

  @BR-GATEWAY-030 @BR-GATEWAY-020 @dedicated-gateway @launched-gateway
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

  @BR-GATEWAY-031 @dedicated-gateway @launched-gateway
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

  @BR-GATEWAY-031 @dedicated-gateway @launched-gateway
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

  @BR-GATEWAY-040 @dedicated-gateway @launched-gateway
  Scenario: On shutdown, signals in flight are completed and stored
    The batch's eight API calls take at least 3.6 seconds (each is delayed 450 ms), longer than the
    2 seconds /readyz answers 503 before the gateway stops listening: it is still in flight while
    the gateway drains. Its gateway is patient (a 3 s call timeout, a 15 s deadline, inside the
    15 s the drain allows), so that a loaded API server's own time on top of the delay does not
    turn the batch into a 503: with the suite's 1 s and 5 s it did, under `make flake LOAD=1`.

    Given a dedicated gateway with its own path to the Kubernetes API, a request deadline of 15 seconds and an API call timeout of 3 seconds
    And the Kubernetes API answers this namespace's requests after a delay of 450 milliseconds
    When Alertmanager sends a batch of firing alerts without waiting for the answer:
      | alert           | kind | target   | severity |
      | HighMemoryUsage | pod  | api-7f9c | critical |
      | HighCPUUsage    | pod  | api-7f9c | warning  |
      | DiskPressure    | pod  | api-7f9c | warning  |
      | OOMRisk         | pod  | api-7f9c | critical |
    And the gateway is told to stop while the batch is in flight
    Then the gateway reports not ready while it stops
    And the batch in flight is answered 201
    And the gateway process exits cleanly
    And a remediation request exists for "HighMemoryUsage" on pod "api-7f9c"
    And a remediation request exists for "HighCPUUsage" on pod "api-7f9c"
