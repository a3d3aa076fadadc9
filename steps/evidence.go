package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/cucumber/godog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

// attachEvidence adds what a person needs to understand a failed scenario to the cucumber JSON
// (and so to the HTML report): the gateway's log lines for the scenario, the objects and events
// in its namespace, and the fault proxy's record of the gateway's API calls.
func attachEvidence(ctx context.Context, st *scenario) context.Context {
	text := func(name, body string) godog.Attachment {
		if body == "" {
			body = "(nothing)"
		}
		return godog.Attachment{FileName: name, MediaType: "text/plain", Body: []byte(body)}
	}
	var atts []godog.Attachment
	atts = append(atts, text("gateway.log", strings.Join(st.gw.LogLines(st.ns), "\n")))
	// Bounded: the API may be the thing that failed (a frozen control plane answers nothing).
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.bounds().Request)
	defer cancel()
	for _, ns := range []string{st.ns, st.second} {
		if ns == "" {
			continue
		}
		atts = append(atts, text("remediationrequests-"+ns+".yaml", st.objectsYAML(bg, ns)))
		atts = append(atts, text("events-"+ns+".yaml", st.eventsYAML(bg, ns)))
	}
	for _, log := range []struct{ name, body string }{
		{"soak.log", st.soak.logText()},
		{"overload-redeliveries.log", st.faults.overloadLog()},
		{"control-plane-container-faults.log", st.faults.containerFaultLog()},
	} {
		if log.body != "" {
			atts = append(atts, text(log.name, log.body))
		}
	}
	if f, err := st.gw.Faults(); err == nil {
		atts = append(atts, text("fault-proxy-requests.log", faultproxy.FormatRecords(f.Requests(st.ns))))
	}
	return godog.Attach(ctx, atts...)
}

func (st *scenario) objectsYAML(ctx context.Context, ns string) string {
	items, err := st.list(ctx, ns)
	if err != nil {
		return err.Error()
	}
	if len(items) == 0 {
		return "(no remediation requests in " + ns + ")"
	}
	for i := range items {
		items[i].ManagedFields = nil
	}
	out, err := yaml.Marshal(items)
	if err != nil {
		return fmt.Sprintf("rendering the remediation requests: %v", err)
	}
	return string(out)
}

func (st *scenario) eventsYAML(ctx context.Context, ns string) string {
	evs, err := st.kube().CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Sprintf("listing events in %s: %v", ns, err)
	}
	if len(evs.Items) == 0 {
		return "(no events in " + ns + ")"
	}
	for i := range evs.Items {
		evs.Items[i].ManagedFields = nil
	}
	out, err := yaml.Marshal(evs.Items)
	if err != nil {
		return fmt.Sprintf("rendering the events: %v", err)
	}
	return string(out)
}
