package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/kubeconfig"
)

// controllerStartTimeout bounds kube-controller-manager's start, up to its first visible work.
const controllerStartTimeout = 60 * time.Second

// controllers is a running kube-controller-manager: the controllers a real cluster has on by
// default (namespace, garbage collector, service account, token, ...), so that a deleted namespace
// is emptied and removed by the namespace controller, as on any real cluster, and objects are
// garbage-collected.
type controllers struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
	err  error
}

// startControllers runs kube-controller-manager from binDir against the API server of cfg, with
// the service-account signing key of certDir (the one kube-apiserver verifies tokens with). It
// returns once the service account controller has made the default namespace's "default"
// ServiceAccount: proof that the controllers run and can write.
func startControllers(ctx context.Context, binDir, certDir string, cfg *rest.Config) (*controllers, error) {
	dir, err := os.MkdirTemp("", "kube-controller-manager-")
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager work directory: %w", err)
	}
	c := &controllers{dir: dir, done: make(chan struct{})}
	kubeconfig, ca := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "ca.crt")
	if err := WriteKubeconfig(kubeconfig, cfg); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(ca, cfg.CAData, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("kube-controller-manager CA file: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "kube-controller-manager.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close()
	c.cmd = exec.Command(filepath.Join(binDir, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--secure-port=0", // nothing to serve: readiness is judged by the controllers' work
		"--leader-elect=false",
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+filepath.Join(certDir, "sa-signer.key"),
		"--root-ca-file="+ca,
		"--concurrent-namespace-syncs=10",
		"--v=1",
	)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()

	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		c.stop()
		return nil, err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, controllerStartTimeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-c.done:
			return false, fmt.Errorf("kube-controller-manager exited: %v (log: %s)", c.err, logFile.Name())
		default:
		}
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		log := filepath.Join(dir, "kube-controller-manager.log")
		tail, _ := os.ReadFile(log)
		c.stop()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return nil, fmt.Errorf("kube-controller-manager did not make the default ServiceAccount within %s: %w; its log ends:\n%s", controllerStartTimeout, err, tail)
	}
	return c, nil
}

// stop ends kube-controller-manager (SIGTERM, then SIGKILL after a bound) and removes its files.
func (c *controllers) stop() error {
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	var err error
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
		err = errors.New("kube-controller-manager did not stop within 10s of SIGTERM and was killed")
	}
	os.RemoveAll(c.dir)
	c.cmd = nil
	return err
}

// WriteKubeconfig writes an administrator kubeconfig for cfg (client certificate or token, CA), as
// kube-controller-manager and the scripts that run the control plane alone need one.
func WriteKubeconfig(path string, cfg *rest.Config) error {
	return kubeconfig.Write(path, kubeconfig.Config{
		Context: "local", User: "admin", Server: cfg.Host, CAData: cfg.CAData,
		Token: cfg.BearerToken, CertData: cfg.CertData, KeyData: cfg.KeyData,
	})
}
