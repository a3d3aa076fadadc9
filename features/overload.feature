@resilience
Feature: Overload is shed at once, and nothing accepted is lost
  As the platform team that sizes the gateway
  I want a burst beyond what the gateway takes at once to be turned away at once, with a time to come back,
  instead of piling up until memory runs out, and every alert redelivered to be stored exactly once

  @BR-GATEWAY-041 @launched-gateway
  Scenario: A burst beyond the limit is shed with 503 and Retry-After, counted, and stored once after redelivery
    Given a dedicated gateway with its own path to the Kubernetes API that takes at most 2 signals at once and waits up to 3 seconds for each API call
    And the Kubernetes API answers this namespace's requests after a delay of 1 second
    When 8 senders each send a different firing alert at the same moment
    Then the gateway accepts at most 2 of them and sheds the others at once with 503, asking them to come back after its retry interval
    And the gateway's metrics count every shed alert
    When the Kubernetes API recovers
    And each sender redelivers its shed alert until it is accepted
    Then every alert of the burst has exactly one remediation request

  @BR-GATEWAY-041 @launched-gateway
  Scenario: Health probes and metrics are never shed
    Given a dedicated gateway with its own path to the Kubernetes API that takes at most 1 signal at once and waits up to 3 seconds for each API call
    And the Kubernetes API answers this namespace's requests after a delay of 1 second
    Then while the gateway sheds a burst of 4 alerts, its health probes and metrics answer 200
    And the gateway accepts at most 1 of them and sheds the others at once with 503, asking them to come back after its retry interval

  @BR-GATEWAY-041 @BR-GATEWAY-182 @launched-gateway
  Scenario: A flood of requests with an unknown token costs the API one review, not one per request
    Given a dedicated gateway with its own path to the Kubernetes API
    When a sender presents the same unknown token 20 times
    Then every one of those requests is answered 401, and only the first cost the API a review of that token
