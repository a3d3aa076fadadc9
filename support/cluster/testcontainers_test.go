package cluster

import (
	"os"
	"strconv"
	"testing"
)

// TestSuiteLabelsNameALiveOwner: what a provider labels now is not a leftover to the sweep, and
// carries the mark the sweep filters on.
func TestSuiteLabelsNameALiveOwner(t *testing.T) {
	host, _ := os.Hostname()
	for _, component := range []string{"controlplane", "k3s"} {
		l := suiteLabels("run1", component)
		if l[LabelE2E] != "true" || l[LabelE2ERun] != "run1" || l[LabelE2EComponent] != component {
			t.Errorf("suiteLabels(run1, %s) = %v", component, l)
		}
		if want := host + "/" + strconv.Itoa(os.Getpid()); l[LabelE2EOwner] != want {
			t.Errorf("owner %q, want %q", l[LabelE2EOwner], want)
		}
		if !ownerAlive(l[LabelE2EOwner], host) {
			t.Errorf("the sweep would take a live run's %s", component)
		}
	}
}

func TestDisableRyuk(t *testing.T) {
	t.Setenv(ryukEnv, "false")
	// Its error depends on whether testcontainers read its configuration earlier in this process;
	// the variable must be set either way.
	_ = disableRyuk("test")
	if os.Getenv(ryukEnv) != "true" {
		t.Errorf("%s = %q after disableRyuk", ryukEnv, os.Getenv(ryukEnv))
	}
}
