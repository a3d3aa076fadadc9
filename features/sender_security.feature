@security
Feature: Only authenticated, authorized senders raise signals
  As the platform team that runs the gateway
  I want every sender to prove who it is with its Kubernetes ServiceAccount token,
  and to raise signals only in the namespaces it is allowed to,
  so that one team cannot open remediation work in another team's namespace,
  and a hiccup of the Kubernetes API never turns into a lost signal

  @BR-GATEWAY-182
  Scenario: A signal without a token is refused and nothing is written
    Given the sender presents no token
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 401 with problem details
    And the answer asks for a bearer token
    And the gateway made no change to the cluster

  @BR-GATEWAY-182
  Scenario Outline: A signal with an unusable credential is refused and nothing is written
    Given the sender presents <credential>
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 401 with problem details
    And the answer asks for a bearer token
    And the gateway made no change to the cluster

    Examples:
      | credential                                               |
      | a token that is not a token at all                       |
      | a malformed Authorization header                         |
      | the token of a ServiceAccount that has since been deleted |

  @BR-GATEWAY-183
  Scenario: A sender with no permission anywhere is forbidden
    Given a sender with no permission anywhere
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 403 with problem details
    And the refusal names this namespace
    And the gateway made no change to the cluster

  @BR-GATEWAY-183
  Scenario: A sender raises signals in the namespace it is allowed in
    Given a sender allowed to raise signals only in this namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And a remediation request exists for "HighMemoryUsage" on pod "api-7f9c"

  @BR-GATEWAY-183
  Scenario: A sender allowed in one namespace cannot raise a signal in another
    Given a second namespace for this scenario
    And a sender allowed to raise signals only in this namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c" in the second namespace
    Then the gateway answers 403 with problem details
    And the refusal names the second namespace and no other
    And the second namespace holds exactly 0 remediation requests

  @BR-GATEWAY-183 @BR-GATEWAY-016
  Scenario: A sender allowed only in its own namespace cannot reach the fallback namespace with an alert about a node
    Given a sender allowed to raise signals only in this namespace
    When Alertmanager sends a firing alert "NodeDiskFull" with severity "critical" for node "node-a" labelled with this namespace
    Then the gateway answers 403 with problem details
    And the refusal names the fallback namespace and no other
    And the namespace holds no remediation requests
    And nothing of this scenario is in the fallback namespace

  @BR-GATEWAY-183 @BR-GATEWAY-016
  Scenario: A sender allowed only in its own namespace cannot reach the fallback namespace with an alert about a namespace that does not exist
    Given a sender allowed to raise signals only in this namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c" in a namespace that does not exist
    Then the gateway answers 403 with problem details
    And the refusal names the fallback namespace
    And the namespace holds no remediation requests
    And nothing of this scenario is in the fallback namespace

  @BR-GATEWAY-183 @BR-GATEWAY-016 @controllers
  Scenario: A sender allowed in a namespace that is being deleted cannot reach the fallback namespace
    Given a sender allowed to raise signals only in this namespace
    And the sender's binding in this namespace is held back by a finalizer
    And the namespace is being deleted, held back by a finalizer
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 403 with problem details
    And the refusal names the fallback namespace and no other
    And nothing of this scenario is in the fallback namespace

  @BR-GATEWAY-183 @BR-GATEWAY-016
  Scenario: A sender also allowed in the fallback namespace raises the signals that land there
    Given a sender allowed to raise signals only in this namespace
    And the sender is also allowed to raise signals in the fallback namespace
    When Alertmanager sends a firing alert "NodeDiskFull" with severity "critical" for node "node-a" labelled with this namespace
    Then the gateway answers 201
    And a remediation request for "NodeDiskFull" on node "node-a" is in the fallback namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c" in a namespace that does not exist
    Then the gateway answers 201
    And a remediation request for "HighMemoryUsage" on pod "api-7f9c" is in the fallback namespace

  @BR-GATEWAY-183 @BR-GATEWAY-001
  Scenario: A batch that reaches into a forbidden namespace stores nothing at all
    Given a second namespace for this scenario
    And a sender allowed to raise signals only in this namespace
    When Alertmanager sends a batch of firing alerts, one for this namespace and one for the second namespace
    Then the gateway answers 403 with problem details
    And the refusal names the second namespace and no other
    And the namespace holds no remediation requests
    And the second namespace holds exactly 0 remediation requests

  @BR-GATEWAY-183
  Scenario: The sender is recorded, and a duplicate keeps the first sender
    Given a sender allowed to raise signals only in this namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 201
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" records that sender
    Given another sender allowed to raise signals only in this namespace
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 202
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" records the first sender

  @BR-GATEWAY-183
  Scenario: A revoked permission takes effect within the authorization cache's lifetime
    Given a sender allowed to raise signals only in this namespace
    And Alertmanager has sent a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    When the sender's permission in this namespace is revoked
    Then within the gateway's authorization cache lifetime, a new alert from that sender is refused with 403
    And the refusal names this namespace

  @BR-GATEWAY-182 @BR-GATEWAY-020 @launched-gateway @fault-injection
  Scenario: While the API cannot review tokens, the sender is asked to retry, and the retry succeeds
    The gateway's access review is not faulted and goes to the real API server: its bounds are patient
    (3 s per call), so that the 503 the sender meets is the injected fault's, and the retry's 201
    does not depend on how busy the API server is at that moment.

    Given a dedicated gateway with its own path to the Kubernetes API, a request deadline of 15 seconds and an API call timeout of 3 seconds
    And a sender allowed to raise signals only in this namespace
    And the Kubernetes API fails every attempt to review a sender's token with status 503
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the fault fired at least 1 time
    And the gateway made no change to the cluster
    When the Kubernetes API recovers
    And Alertmanager delivers the same notification again
    Then the gateway answers 201
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-183 @BR-GATEWAY-020 @launched-gateway @fault-injection
  Scenario: While the API cannot review access, the sender is asked to retry, and the retry succeeds
    The gateway's token review is not faulted and goes to the real API server: its bounds are patient
    (3 s per call), so that the 503 the sender meets is the injected fault's, and the retry's 201
    does not depend on how busy the API server is at that moment.

    Given a dedicated gateway with its own path to the Kubernetes API, a request deadline of 15 seconds and an API call timeout of 3 seconds
    And a sender allowed to raise signals only in this namespace
    And the Kubernetes API fails every attempt to review a sender's access with status 500
    When Alertmanager sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the gateway answers 503 with a Retry-After header
    And the fault fired at least 1 time
    And the gateway made no change to the cluster
    When the Kubernetes API recovers
    And Alertmanager delivers the same notification again
    Then the gateway answers 201

  @BR-GATEWAY-182
  Scenario Outline: The metrics are for authorized scrapers only
    When the gateway's metrics are read <caller>
    Then the gateway answers <status> with problem details

    Examples:
      | caller                  | status |
      | without a token         | 401    |
      | with the sender's token | 403    |

  @BR-GATEWAY-182
  Scenario: An authorized scraper reads the metrics
    When the gateway's metrics are read with the scraper's token
    Then the metrics are served
