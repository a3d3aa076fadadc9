package steps

import (
	"context"
	"fmt"

	"github.com/cucumber/godog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubernaut/gateway-contract/support/cluster"
)

// Steps that take the API server itself away: it freezes (its container paused, so requests
// hang rather than fail), restarts (connections drop, watches break), or drops off the network.
// They run on a control plane of the scenario's own, in a container, so that the scenarios
// beside it are not disturbed whatever the run's provider; each fault is checked to have taken
// effect on the container (paused, a new process, detached), or the step fails.
func registerContainerFaultSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a gateway with a control plane of its own, in a container$`, ownControlPlane)
	sc.Step(`^the API server (freezes|thaws|restarts|drops off the network|is back on the network)$`, apiServerFault)
}

func ownControlPlane(ctx context.Context) error {
	st := state(ctx)
	if st.placement.ownGateway() || st.senders.hasAlertmanager() {
		return fmt.Errorf("a control plane of the scenario's own must be the scenario's first step")
	}
	cp, err := st.run.StartControlPlane(ctx, st.ns, drains)
	if err != nil {
		return err
	}
	st.undo.Push("the scenario's own control plane", func(ctx context.Context) error {
		err := cp.stop(ctx)
		st.placement.leave(st.run.Cluster()) // what remains to undo is on the run's cluster
		return err
	})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: st.ns}}
	if _, err := cp.on.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the scenario's namespace on its own control plane: %w", err)
	}
	st.gw = cp.gw
	st.placement.dedicate(cp)
	return nil
}

func apiServerFault(ctx context.Context, fault string) error {
	st := state(ctx)
	cp := st.placement.controlPlane()
	if cp == nil {
		return fmt.Errorf("faults of the API server itself need 'Given a gateway with a control plane of its own, in a container' first")
	}
	c := cp.apiServer
	act := map[string]func(context.Context) (cluster.FaultEvidence, error){
		"freezes":                c.Freeze,
		"thaws":                  c.Thaw,
		"restarts":               c.Restart,
		"drops off the network":  c.Disconnect,
		"is back on the network": c.Reconnect,
	}[fault]
	ev, err := act(ctx)
	if err != nil {
		return fmt.Errorf("the API server %s: the fault did not take effect: %w", fault, err)
	}
	st.faults.addContainerFault(ev.String())
	return nil
}
