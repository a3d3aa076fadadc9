package cluster

import (
	"fmt"
	"os"
	"strconv"

	"github.com/testcontainers/testcontainers-go"
)

// ryukEnv is testcontainers' switch for its reaper container.
const ryukEnv = "TESTCONTAINERS_RYUK_DISABLED"

// disableRyuk turns off testcontainers' reaper container, whose image cannot be pulled here; the
// providers' Stop and RemoveLeftoverContainers clean up instead. testcontainers reads its
// configuration once per process, so the variable must be set before its first use, and a
// process that used testcontainers earlier with the reaper on cannot be fixed from here.
func disableRyuk(who string) error {
	if err := os.Setenv(ryukEnv, "true"); err != nil {
		return fmt.Errorf("%s: set %s: %w", who, ryukEnv, err)
	}
	if !testcontainers.ReadConfig().RyukDisabled {
		return missing(nil, "%s: testcontainers' Ryuk reaper is enabled and its image cannot be pulled here: "+
			"export %s=true before the test binary starts", who, ryukEnv)
	}
	return nil
}

// suiteLabels are the labels of a container or network a provider starts for run runID: the
// suite's mark, the run, the owning process ("<hostname>/<pid>") and what it is. A sweep
// (RemoveLeftoverContainers) removes what carries them once the owner is gone.
func suiteLabels(runID, component string) map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		LabelE2E:          "true",
		LabelE2ERun:       runID,
		LabelE2EOwner:     host + "/" + strconv.Itoa(os.Getpid()),
		LabelE2EComponent: component,
	}
}
