@ingestion
Feature: Real godog output

  @BR-GATEWAY-001
  Scenario: Passing with a log
    Given a passing step that attaches a log

  @BR-GATEWAY-002
  Scenario: Failing with a response
    Given a passing step that attaches a log
    When a step fails
    Then a passing step that attaches a log

  @BR-GATEWAY-003
  Scenario: Pending
    Given a pending step

  @BR-GATEWAY-004
  Scenario: Undefined
    Given nobody wrote this step

  @BR-GATEWAY-005 @quarantine(fault-proxy-wait)
  Scenario: Quarantined
    Quarantined: waits for the fault proxy
    When a step fails

  @BR-GATEWAY-006
  Scenario Outline: Outline row <n>
    Given a passing step that attaches a log

    Examples:
      | n |
      | 1 |
      | 2 |
