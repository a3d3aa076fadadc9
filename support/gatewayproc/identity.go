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
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

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
// something.
func SetupIdentity(ctx context.Context, admin *rest.Config) (*Identity, error) {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, fmt.Errorf("client for the gateway's identity: %w", err)
	}
	dir, err := repo.Path("gateway", "config", "rbac")
	if err != nil {
		return nil, err
	}
	var sa corev1.ServiceAccount
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	for file, obj := range map[string]any{"service_account.yaml": &sa, "role.yaml": &role, "role_binding.yaml": &binding} {
		if err := readManifest(filepath.Join(dir, file), obj); err != nil {
			return nil, err
		}
	}
	if err := ensureNamespace(ctx, cs, sa.Namespace); err != nil {
		return nil, err
	}
	if err := apply("ServiceAccount "+sa.Name, func() error {
		_, err := cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, &sa, metav1.CreateOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	if err := apply("ClusterRole "+role.Name, func() error {
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // keep an existing cluster's role in step with the manifest
			cur, gerr := cs.RbacV1().ClusterRoles().Get(ctx, role.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			cur.Rules = role.Rules
			_, err = cs.RbacV1().ClusterRoles().Update(ctx, cur, metav1.UpdateOptions{})
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := apply("ClusterRoleBinding "+binding.Name, func() error {
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	expiry := int64((2 * time.Hour).Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(sa.Namespace).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	return &Identity{Namespace: sa.Namespace, ServiceAccount: sa.Name, Token: tr.Status.Token}, nil
}

func readManifest(path string, obj any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the gateway manifest %s (run make generate?): %w", path, err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return fmt.Errorf("parsing the gateway manifest %s: %w", path, err)
	}
	return nil
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	return apply("Namespace "+name, func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	})
}

// apply runs a create, treating AlreadyExists as success: the objects are the same on every run.
func apply(what string, create func() error) error {
	if err := create(); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("applying %s: %w", what, err)
	}
	return nil
}

// WriteKubeconfig writes a kubeconfig that reaches server (normally the fault proxy) with the
// given CA and bearer token, and nothing else: no client certificate, no admin rights.
func WriteKubeconfig(path, server string, caData []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["suite"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos["gateway"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["gateway"] = &clientcmdapi.Context{Cluster: "suite", AuthInfo: "gateway"}
	cfg.CurrentContext = "gateway"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing the gateway's kubeconfig %s: %w", path, err)
	}
	return nil
}
