@ingestion
Feature: Bad input is refused without touching the cluster
  As the owner of the cluster
  I want malformed or unexpected requests to be refused with a clear explanation
  So that senders can fix them, and nothing half-formed reaches the cluster

  @BR-GATEWAY-003
  Scenario Outline: A malformed alert notification is rejected
    When a sender posts <bad input> to the alert endpoint
    Then the gateway answers 400 with problem details
    And the gateway made no change to the cluster

    Examples:
      | bad input                        |
      | text that is not JSON            |
      | a notification with no alerts    |
      | an alert without an alertname    |
      | a JSON array instead of an object |
      | an empty body                    |

  @BR-GATEWAY-003
  Scenario Outline: A malformed Kubernetes event is rejected
    When a sender posts <bad input> to the event endpoint
    Then the gateway answers 400 with problem details
    And the gateway made no change to the cluster

    Examples:
      | bad input                            |
      | text that is not JSON                |
      | an event without a reason            |
      | an event without an involved object  |

  @BR-GATEWAY-004
  Scenario: An oversized notification is refused
    When a sender posts a notification larger than the gateway accepts to the alert endpoint
    Then the gateway answers 413 with problem details
    And the gateway made no change to the cluster

  @BR-GATEWAY-004
  Scenario Outline: A notification that is not JSON is refused
    When a sender posts a valid notification to the alert endpoint declared as "<content type>"
    Then the gateway answers 415 with problem details
    And the gateway made no change to the cluster

    Examples:
      | content type                      |
      | text/plain                        |
      | application/x-www-form-urlencoded |

  @BR-GATEWAY-004
  Scenario: A notification without a content type is refused
    When a sender posts a valid notification to the alert endpoint without a content type
    Then the gateway answers 415 with problem details
    And the gateway made no change to the cluster

  @BR-GATEWAY-004
  Scenario Outline: Only POST is accepted on the signal endpoints
    When a sender uses <method> on the alert endpoint
    Then the gateway answers 405 with problem details
    And the response allows only "POST"

    Examples:
      | method |
      | GET    |
      | PUT    |
      | DELETE |
