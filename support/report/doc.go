// Package report builds the requirement traceability report of the gateway
// contract suite from the requirement catalog (features/requirements.yaml)
// and the cucumber JSON files written by godog's "cucumber" formatter.
// Product owners and release managers decide from this report, not from the
// test log, so it is strict: nothing can be hidden, and every disagreement
// between the suite and the catalog is an error of the gate.
//
// # Inputs
//
// LoadCatalog reads the catalog and rejects unknown keys, ids that do not
// match ^BR-GATEWAY-\d{3}$, duplicate ids, empty title, statement or area,
// and (when an areas map is given) areas missing from it; errors name the
// file and the entry (requirements[i] (ID)).
//
// LoadCucumber reads cucumber files in the given order, which is taken as
// run order: CI shards, reruns and flake runs are all "runs", and a later
// file is a later run.
//
// # Scenarios
//
// A scenario's identity across files is (feature uri, scenario name, line);
// each example row of an outline is its own scenario. In one run its result
// is the worst step status: failed (godog's "ambiguous" counts as failed) >
// undefined > pending > skipped > passed; a scenario without steps is
// undefined. Across runs: Result is the latest run's result, PassRate is
// passed runs / runs, and Flaky means it passed at least once and failed at
// least once. Failure details (step, error, attachments) are kept for every
// run that did not pass; attachments of passing runs are not kept.
//
// # Tags
//
// @BR-GATEWAY-NNN tags name the requirements a scenario proves (feature tags
// count for every scenario). Any tag starting with "@BR-" (any case) that
// does not spell an id exactly, or names an id missing from the catalog, is
// an error. Area tags (@ingestion, ...) are informational: areas come from
// the catalog.
//
// Quarantine: the tag @quarantine, or @quarantine(<label>) where the label is
// a short reason in hyphenated words, such as @quarantine(late-fallback-namespace).
// Gherkin tags cannot hold spaces, so the full reason is the text after a
// description line starting with "Quarantined:" under the Scenario line (else
// under the Feature line), followed by the labels in parentheses:
// "Quarantined: races with the API server restart" plus
// @quarantine(late-fallback-namespace) gives
// "races with the API server restart (late-fallback-namespace)".
// A quarantine without reason is shown as "no reason given". Quarantined
// scenarios are listed first in every output.
//
// # Requirement verdicts
//
//   - not covered: no scenario names it (a gate error);
//   - failing: a scenario that is not quarantined did not pass in its latest
//     run (failed, undefined, pending or skipped: anything but passed);
//   - quarantined: otherwise, if a quarantined scenario did not pass;
//   - proven: every scenario passed in its latest run.
//
// # Gate
//
// Gate returns a *GateError (errors.Is ErrGate) listing every problem: a
// scenario without requirement tag, a requirement tag that is malformed or
// unknown, a requirement without scenario. Failing requirements are not
// gate errors; the test run itself fails for those.
//
// # Outputs
//
// WriteMarkdown (traceability.md) is deterministic: everything is sorted and
// no clock is read (Report.GeneratedAt is shown only when the caller sets
// it). WriteHTML (traceability.html) is one self-contained page without
// network access or script. WriteJSON (traceability.json) writes the Report
// value; ReadJSON reads it back.
//
// # traceability.json schema, version 1
//
// Fields are never removed or renamed within a version. Durations are
// integer nanoseconds; percentages have one decimal; passRate is 0..1.
//
//	{
//	  "schemaVersion": 1,
//	  "title": string, "generatedAt": string (optional),
//	  "catalog": string, "sources": [string],          // run order
//	  "summary": {
//	    "requirements": {"total","proven","failing","quarantined","notCovered": int},
//	    "scenarios": {"total","passed","failed","other","flaky","quarantined": int},
//	    "coveredPercent": number, "provenPercent": number,
//	    "areas": [{"id","title": string, "requirements","covered","proven": int,
//	               "coveredPercent","provenPercent": number}],
//	    "durationNs": int, "runs": int
//	  },
//	  "quarantined": [ScenarioRef], "flaky": [ScenarioRef],
//	  "problems": [{"kind": "requirement-not-covered"|"unknown-requirement-tag"|"untagged-scenario",
//	                "subject": "uri:line" or requirement id, "message": string}],
//	  "requirements": [{"id","title","statement","area","areaTitle": string,
//	                    "status": "proven"|"failing"|"quarantined"|"not covered",
//	                    "scenarios": [ScenarioRef]}],
//	  "features": [{"uri","name": string, "scenarios": [{
//	      "uri","feature","name": string, "line": int, "tags": [string],
//	      "requirements": [string], "result": Status, "durationNs": int,
//	      "runs","passed","failed": int, "passRate": number, "flaky","quarantined": bool,
//	      "quarantineReason": string (optional),
//	      "history": [{"source": string, "result": Status, "durationNs": int,
//	                   "failure": {"step": string, "line": int, "message": string,
//	                               "attachments": [{"name","mimeType","data"(base64)}]} (optional)}]}]}]
//	}
//	ScenarioRef = {"uri","feature","name": string, "line": int, "result": Status,
//	               "durationNs","runs","passed": int, "passRate": number,
//	               "flaky","quarantined": bool, "quarantineReason": string (optional)}
//	Status = "passed"|"failed"|"skipped"|"undefined"|"pending"
//
// When the report is made with a mutation.json (Inputs.Mutation, written by `make mutation`,
// see support/cmd/mutation and MutationFile), two optional members carry its evidence: each
// requirement gains "mutation": {"mutants","caught","equivalent": int, "survivors":
// [MutantRef], "weak": bool} (weak: proven, but a mutant that names it survived, shown as
// "weakly proven"), and the document gains "mutation": {"source","generatedAt": string,
// "partial": bool, "summary": {"mutants","killed","survived","equivalent","invalid": int,
// "killRate": number}, "weaklyProven": int, "survivors","invalid": [MutantRef], "coverage":
// {"percent": number, "packages": [...], "leastCovered": [{"function","file": string, "line":
// int, "percent": number}]} (optional)}, with MutantRef = {"id","description","status": string,
// "detail": string (optional)}. Without mutation results both are absent.
package report
