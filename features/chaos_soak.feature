@soak @serial @launched-gateway
Feature: Under a storm of failures, nothing is lost and nothing is doubled
  As the SRE team that depends on every alert becoming remediation work
  I want the gateway to come through a long stretch of everything going wrong at once,
  fed by real Alertmanagers as in production, with nothing lost, nothing doubled, and its
  own metrics telling the truth,
  and I want proof that this check would notice if something were lost

  The soak pushes many alerts, over many fingerprints and several namespaces, through real
  Alertmanagers into a gateway of its own, while a seeded random schedule fails the Kubernetes
  API (5xx, 429 with Retry-After, resets, black holes, latency, whole-API outages) and kills the
  gateway with SIGKILL. The verdict is read from the cluster alone. `make soak` runs the full
  size (1,000 alerts); the seed is printed, and replays the same schedule.

  @BR-GATEWAY-020
  Scenario: A soak of 200 alerts through a storm of failures loses nothing
    When a soak of 200 alerts over 40 fingerprints runs through 2 real Alertmanagers while the API and the gateway fail at random
    Then no alert was lost and none was doubled
    And every alert was counted at least once per Alertmanager that delivered it
    And every kind of fault fired

  @BR-GATEWAY-031
  Scenario: Through a storm of failures, the gateway's created counter equals the requests it created
    The created counter is summed over every gateway process, each read just before its SIGKILL.
    A first status write whose answer an outage lost may have landed or not, and the gateway only
    knows once it writes that object again; a process killed before that takes the answer with it.
    Each process says how many such writes it holds (gateway_unconfirmed_creations, read with its
    counters), and the cluster may hold that many objects beyond the counter, never fewer than it.

    When a soak of 200 alerts over 40 fingerprints runs through 2 real Alertmanagers while the API and the gateway fail at random
    Then the gateway's metrics agree with the cluster

  @BR-GATEWAY-020
  Scenario: The soak's check notices remediation requests that went missing
    When a soak of 100 alerts over 20 fingerprints runs through 2 real Alertmanagers while the API and the gateway fail at random, and 3 remediation requests are deleted behind the gateway's back before the check
    Then the soak reports exactly the deleted remediation requests as lost, and fails
