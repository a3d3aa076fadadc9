// Package soak is the gateway's soak: many alerts, pushed through real Alertmanagers
// into a dedicated gateway while a seeded schedule injects every kind of fault between the
// gateway and the API server and SIGKILLs the gateway, then a check, from the cluster alone,
// that nothing was lost, doubled or under-counted and that the gateway's metrics agree with
// the cluster. `make soak` runs it through support/cmd/soak; a godog step can call Run with the
// suite's harness so the soak appears in the traceability report.
//
// # The run
//
//   - Namespaces: Config.Namespaces from the one namespace generator, deleted at the end.
//   - Gateway: a dedicated one (harness.StartGateway), never the shared one: the outages and the
//     kills hit the whole gateway. Every rule fault is scoped to one soak namespace and to
//     remediationrequests, so even on its own proxy nothing but the soak is touched.
//   - Alertmanagers: Config.Alertmanagers real ones, each in a work directory of its own, all
//     routed to the gateway with the sender's ServiceAccount token (credentials_file), grouped by
//     the soak_batch label (one batch, one notification), group_wait 100ms, group_interval 1s.
//     Like Prometheus with an HA pair, every batch is pushed to every Alertmanager, and with no
//     gossip between them each one delivers it: the gateway gets every alert once per
//     Alertmanager, concurrently, which is what could double a RemediationRequest.
//   - Schedule (NewPlan, from the seed alone): the batches spread over the first 80% of
//     Config.Duration; one rule fault of every kind (5xx, 429 with Retry-After, reset, drop,
//     black hole, latency) early and on every verb, more on random verbs; outages of 2-4 s
//     (faultproxy.SetOutage); and Config.Kills SIGKILLs with a restart on the same address
//     (harness.Gateway.Restart). The same seed replays the same schedule, on any run.
//   - Drain: bounded (Config.DrainTimeout, else the Scenario bound), until every Alertmanager's
//     successful webhook requests (Requests - RequestsFailed of alertmanager.Delivery) reach the
//     number of batches: a success ends a notification, and a delivered group is not sent again
//     within its hour-long repeat interval, so that number means the queue is empty for good.
//
// # What the check asserts, and why that way
//
// Check reads the cluster (one list per soak namespace) and compares it with an Expectation
// made from the plan and the metrics, never from the cluster:
//
//   - lost = 0: every fingerprint sent has a RemediationRequest in its namespace. The
//     fingerprint is computed here from docs/design.md (Fingerprint), not taken from the gateway.
//   - doubled = 0: no fingerprint has two active (non-terminal) RemediationRequests.
//   - occurrences: for every fingerprint f, the occurrence counts of its RemediationRequests add
//     up to at least MinOccurrences(f) = (alerts of f) x (Alertmanagers). Why: each of f's alerts
//     is a distinct Alertmanager alert in exactly one group; after the drain every Alertmanager
//     has had a 2xx for every group; and the gateway answers 2xx only when every alert of the
//     request was recorded as an occurrence (a transient failure of any alert answers 503, a
//     permanent one 500). So every (alert, Alertmanager) pair was recorded at least once. It is a
//     floor, not an exact count, because a batch answered 503 is delivered again in full and
//     its alerts that were already recorded are recorded again (docs/design.md: they "count as
//     duplicates on redelivery"), and because a 2xx that the crash or a timeout kept from
//     Alertmanager is delivered again too. Each alert is therefore counted at least once per
//     Alertmanager, not exactly once; the summary also prints the occurrences against what
//     the gateway acknowledged (created + deduplicated), for a reader to judge over-counting.
//   - unexpected = 0: no RemediationRequest in a soak namespace for a fingerprint not sent there.
//   - metrics: gateway_signals_created_total, summed over every gateway process of the run,
//     equals the number of RemediationRequests in the soak namespaces. A SIGKILL takes the
//     process's counters with it, so each kill first freezes the soak's API calls and reads the
//     counters once they hold still (see run.kill); the sum of those readings and the last
//     process's final one is the run's total. When it disagrees, the gateway's own log lines
//     ("signal persisted", status created) name the objects no process counted.
//
// The verdict also fails when the queues did not drain, or a fault kind never fired: a fault
// that did not happen proves nothing. Each rule fault's evidence is the proxy's record of the
// requests it applied to; an outage's, the proxy's record of the outage; a kill's, the
// operating system's exit status of the old process and the pid of the new one.
//
// Config.DeleteBehind deletes that many RemediationRequests after the drain and before the
// check, with the suite's own client: the run must then report exactly those as lost (and the
// created metric as disagreeing) and fail. That is the soak's must-fail proof.
package soak
