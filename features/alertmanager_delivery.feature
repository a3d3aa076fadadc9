@alertmanager
Feature: What the real Alertmanager delivers is stored exactly once
  As the SRE team whose Prometheus alerts reach the gateway through Alertmanager
  I want every alert Alertmanager delivers to become remediation work exactly once,
  whatever Alertmanager's grouping does and whatever happens to the Kubernetes API or the gateway,
  because Alertmanager's own retries decide whether an alert survives a bad minute

  Alertmanager resends every firing alert of a group with each notification of the group, so an
  alert already stored is counted again by a later notification; a redelivery of a notification
  the gateway refused is not.

  Each scenario runs an Alertmanager of its own (the real one, built from its Go module), routed to
  the gateway with the scenario's sender token and fed through its API as Prometheus feeds it.

  @BR-GATEWAY-001
  Scenario: A group of firing alerts arrives as one batch, and each alert gets its remediation request
    Given an Alertmanager that sends to the gateway
    When Prometheus fires these alerts through Alertmanager:
      | alert           | kind       | target   | severity |
      | HighMemoryUsage | pod        | api-7f9c | critical |
      | HighCPUUsage    | pod        | api-7f9c | warning  |
      | ReplicasDown    | deployment | api      | warning  |
    Then Alertmanager has delivered 1 notification without a single failed request
    And every alert fired through Alertmanager has exactly one remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1
    And the remediation request for "ReplicasDown" on deployment "api" has occurrence count 1

  @BR-GATEWAY-005
  Scenario: A resolution creates nothing
    Given an Alertmanager that sends to the gateway and also sends resolutions
    And Prometheus fires "HighMemoryUsage" with severity "critical" for pod "api-7f9c" through Alertmanager
    And Alertmanager has delivered 1 notification
    When Prometheus resolves "HighMemoryUsage" through Alertmanager
    Then Alertmanager has delivered 2 notifications without a single failed request
    And every alert fired through Alertmanager has exactly one remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-020 @launched-gateway
  Scenario: An API outage longer than several redeliveries loses nothing and doubles nothing
    Given a dedicated gateway with its own path to the Kubernetes API
    And an Alertmanager that sends to the gateway
    And the Kubernetes API becomes unreachable
    When Prometheus fires these alerts through Alertmanager:
      | alert           | kind       | target   | severity |
      | HighMemoryUsage | pod        | api-7f9c | critical |
      | HighCPUUsage    | pod        | api-7f9c | warning  |
      | ReplicasDown    | deployment | api      | warning  |
    Then Alertmanager has retried its notification at least 3 times
    And the namespace holds no remediation requests
    When the Kubernetes API becomes reachable again
    Then Alertmanager has delivered 1 notification in all
    And every alert fired through Alertmanager has exactly one remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1
    And the remediation request for "HighCPUUsage" on pod "api-7f9c" has occurrence count 1
    And the remediation request for "ReplicasDown" on deployment "api" has occurrence count 1

  @BR-GATEWAY-023 @BR-GATEWAY-019 @fault-injection @launched-gateway
  Scenario: A throttled API does not make Alertmanager wait for its next group interval
    Given an Alertmanager that sends to the gateway with a group interval of 60 seconds
    And the Kubernetes API will throttle the next attempt to create a remediation request, asking for a retry after 1 second
    When Prometheus fires "HighMemoryUsage" with severity "critical" for pod "api-7f9c" through Alertmanager
    Then Alertmanager has delivered 1 notification without a single failed request
    And every alert fired through Alertmanager has exactly one remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 1
    And the fault fired 1 time

  @BR-GATEWAY-020 @BR-GATEWAY-040 @launched-gateway
  Scenario: A gateway restarted between two notifications loses nothing
    Given a dedicated gateway with its own path to the Kubernetes API
    And an Alertmanager that sends to the gateway
    And Prometheus fires "HighMemoryUsage" with severity "critical" for pod "api-7f9c" through Alertmanager
    And Alertmanager has delivered 1 notification
    When the gateway restarts between two notifications
    And Prometheus fires "DiskPressure" with severity "warning" for pod "api-7f9c" through Alertmanager
    Then Alertmanager has delivered 2 notifications in all
    And every alert fired through Alertmanager has exactly one remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2
    And the remediation request for "DiskPressure" on pod "api-7f9c" has occurrence count 1

  @BR-GATEWAY-020 @launched-gateway
  Scenario: A gateway killed between two notifications loses nothing
    Given a dedicated gateway with its own path to the Kubernetes API
    And an Alertmanager that sends to the gateway
    And Prometheus fires "HighMemoryUsage" with severity "critical" for pod "api-7f9c" through Alertmanager
    And Alertmanager has delivered 1 notification
    When the gateway is killed and restarts between two notifications
    And Prometheus fires "DiskPressure" with severity "warning" for pod "api-7f9c" through Alertmanager
    Then Alertmanager has delivered 2 notifications in all
    And every alert fired through Alertmanager has exactly one remediation request
    And the remediation request for "HighMemoryUsage" on pod "api-7f9c" has occurrence count 2
    And the remediation request for "DiskPressure" on pod "api-7f9c" has occurrence count 1
