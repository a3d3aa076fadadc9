package gatewayproc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubernaut/gateway-contract/support/kubeconfig"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// Identity is the gateway's ServiceAccount and a token for it.
type Identity struct {
	Namespace      string
	ServiceAccount string
	Token          string
}

// Username is how the API server names the identity, for access reviews.
func (i *Identity) Username() string {
	return "system:serviceaccount:" + i.Namespace + ":" + i.ServiceAccount
}

// SetupIdentity applies the gateway's RBAC manifests from gateway/config/rbac (the generated
// ClusterRole and the hand-written ServiceAccount and binding) and requests a token for the
// ServiceAccount. Applying the real manifests, not a copy, is what makes BR-GATEWAY-032 mean
// something. What it creates (and only that: an existing cluster keeps what it had) is undone
// through undo.
func SetupIdentity(ctx context.Context, admin *rest.Config, undo *lifecycle.Stack) (*Identity, error) {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, fmt.Errorf("client for the gateway's identity: %w", err)
	}
	var sa corev1.ServiceAccount
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	for file, obj := range map[string]any{"service_account.yaml": &sa, "role.yaml": &role, "role_binding.yaml": &binding} {
		if err := ReadManifest(file, obj); err != nil {
			return nil, err
		}
	}
	if err := EnsureNamespace(ctx, cs, sa.Namespace, undo); err != nil {
		return nil, err
	}
	if err := applyServiceAccount(ctx, cs, &sa, undo); err != nil {
		return nil, err
	}
	if err := ApplyClusterRole(ctx, cs, &role, undo); err != nil {
		return nil, err
	}
	if err := applyClusterRoleBinding(ctx, cs, &binding, undo); err != nil {
		return nil, err
	}
	token, err := RequestToken(ctx, cs, sa.Namespace, sa.Name, 2*time.Hour)
	if err != nil {
		return nil, err
	}
	return &Identity{Namespace: sa.Namespace, ServiceAccount: sa.Name, Token: token}, nil
}

// SetupSender makes the suite's default signal sender: the ServiceAccount name in namespace,
// bound cluster-wide to the shipped ClusterRole kubernaut-signal-sender (applied from
// gateway/config/rbac/sender_role.yaml), with a token. Every scenario sends with it unless it
// makes a sender of its own.
func SetupSender(ctx context.Context, admin *rest.Config, namespace, name string, undo *lifecycle.Stack) (*Identity, error) {
	var role rbacv1.ClusterRole
	if err := ReadManifest("sender_role.yaml", &role); err != nil {
		return nil, err
	}
	return SetupBound(ctx, admin, namespace, name, &role, undo)
}

// ScraperRole is what a metrics scraper (Prometheus) is granted: get on the gateway's /metrics.
// It is the deployer's, not the gateway's, so the suite defines it here.
var ScraperRole = rbacv1.ClusterRole{
	ObjectMeta: metav1.ObjectMeta{Name: "e2e-gateway-metrics-scraper"},
	Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
}

// SetupBound makes the ServiceAccount name in namespace, bound cluster-wide to role (applied
// first), and requests a token for it. What it creates is undone through undo.
func SetupBound(ctx context.Context, admin *rest.Config, namespace, name string, role *rbacv1.ClusterRole, undo *lifecycle.Stack) (*Identity, error) {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, fmt.Errorf("client for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	if err := ApplyClusterRole(ctx, cs, role, undo); err != nil {
		return nil, err
	}
	if err := EnsureNamespace(ctx, cs, namespace, undo); err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := applyServiceAccount(ctx, cs, sa, undo); err != nil {
		return nil, err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}},
	}
	if err := applyClusterRoleBinding(ctx, cs, binding, undo); err != nil {
		return nil, err
	}
	token, err := RequestToken(ctx, cs, namespace, name, 2*time.Hour)
	if err != nil {
		return nil, err
	}
	return &Identity{Namespace: namespace, ServiceAccount: name, Token: token}, nil
}

// RequestToken asks the API server for a bound token of the ServiceAccount (TokenRequest), valid
// for ttl: a real token, the same kind a pod is given.
func RequestToken(ctx context.Context, cs kubernetes.Interface, namespace, name string, ttl time.Duration) (string, error) {
	expiry := int64(ttl.Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

func applyServiceAccount(ctx context.Context, cs kubernetes.Interface, sa *corev1.ServiceAccount, undo *lifecycle.Stack) error {
	return apply("ServiceAccount "+sa.Namespace+"/"+sa.Name, undo, func() error {
		_, err := cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return cs.CoreV1().ServiceAccounts(sa.Namespace).Delete(ctx, sa.Name, metav1.DeleteOptions{})
	})
}

// ApplyClusterRole creates the role, or brings an existing one in step with the manifest.
func ApplyClusterRole(ctx context.Context, cs kubernetes.Interface, role *rbacv1.ClusterRole, undo *lifecycle.Stack) error {
	return apply("ClusterRole "+role.Name, undo, func() error {
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			cur, gerr := cs.RbacV1().ClusterRoles().Get(ctx, role.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			cur.Rules = role.Rules
			if _, uerr := cs.RbacV1().ClusterRoles().Update(ctx, cur, metav1.UpdateOptions{}); uerr != nil {
				return uerr
			}
		}
		return err
	}, func(ctx context.Context) error {
		return cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
	})
}

func applyClusterRoleBinding(ctx context.Context, cs kubernetes.Interface, b *rbacv1.ClusterRoleBinding, undo *lifecycle.Stack) error {
	return apply("ClusterRoleBinding "+b.Name, undo, func() error {
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return cs.RbacV1().ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})
	})
}

// ReadManifest reads one file of gateway/config/rbac into obj, strictly.
func ReadManifest(file string, obj any) error {
	dir, err := repo.Path("gateway", "config", "rbac")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the gateway manifest %s (run make generate?): %w", path, err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return fmt.Errorf("parsing the gateway manifest %s: %w", path, err)
	}
	return nil
}

// EnsureNamespace creates the namespace unless it exists; a namespace it created is undone.
func EnsureNamespace(ctx context.Context, cs kubernetes.Interface, name string, undo *lifecycle.Stack) error {
	return apply("Namespace "+name, undo, func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// apply runs a create, treating AlreadyExists as success (the objects are the same on every run),
// and pushes del only when this call created the object: what an existing cluster had stays.
func apply(what string, undo *lifecycle.Stack, create func() error, del lifecycle.Undo) error {
	err := create()
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("applying %s: %w", what, err)
	}
	if err == nil && undo != nil {
		undo.Push(what, func(ctx context.Context) error {
			if err := del(ctx); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			return nil
		})
	}
	return nil
}

// WriteKubeconfig writes a kubeconfig that reaches server (normally the fault proxy) with the
// given CA and bearer token, and nothing else: no client certificate, no admin rights.
func WriteKubeconfig(path, server string, caData []byte, token string) error {
	return kubeconfig.Write(path, kubeconfig.Config{Context: "gateway", User: "gateway", Server: server, CAData: caData, Token: token})
}
