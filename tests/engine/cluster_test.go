//go:build engine

package engine

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// cluster is a real Kubernetes control plane on loopback: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, and kwok, which
// plays the kubelets of fake nodes (pods on them become Running and Ready,
// Job pods Succeeded). Nothing runs in a container; nothing leaves 127.0.0.1.
type cluster struct {
	dir            string
	server         string // https://127.0.0.1:PORT
	kubeconfigJSON string // admin (system:masters) client certificate, embedded
	client         *http.Client
	procs          []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// zones of the fake nodes: the tenant service spreads across them.
var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

func startCluster(dir string) (c *cluster, err error) {
	c = &cluster{dir: dir}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, c.logTails())
			c.stop()
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	pki, err := newPKI(dir)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	etcdPort, peerPort, apiPort := freePort(), freePort(), freePort()
	c.server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	kubeconfig := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "engine-tests",
		"clusters": []any{map[string]any{"name": "local", "cluster": map[string]any{
			"server": c.server, "certificate-authority-data": base64.StdEncoding.EncodeToString(pki.caPEM)}}},
		"contexts": []any{map[string]any{"name": "engine-tests", "context": map[string]any{"cluster": "local", "user": "admin"}}},
		"users": []any{map[string]any{"name": "admin", "user": map[string]any{
			"client-certificate-data": base64.StdEncoding.EncodeToString(pki.adminCertPEM),
			"client-key-data":         base64.StdEncoding.EncodeToString(pki.adminKeyPEM)}}},
	}
	b, _ := json.Marshal(kubeconfig)
	c.kubeconfigJSON = string(b)
	kubeconfigPath := filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(kubeconfigPath, b, 0o600); err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(pki.adminCertPEM, pki.adminKeyPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pki.caPEM)
	c.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}

	if err := c.run("etcd", "etcd",
		"--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", peerPort),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", peerPort),
		fmt.Sprintf("--initial-cluster=default=http://127.0.0.1:%d", peerPort),
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return nil, err
	}
	if err := c.run("kube-apiserver", "kube-apiserver",
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+pki.file("apiserver.crt"), "--tls-private-key-file="+pki.file("apiserver.key"),
		"--client-ca-file="+pki.file("ca.crt"),
		"--service-account-key-file="+pki.file("sa.key"), "--service-account-signing-key-file="+pki.file("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		// No kubelets and no kube-proxy: the apiserver must not reconcile
		// the kubernetes Service endpoints to 127.0.0.1 (refused).
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
	); err != nil {
		return nil, err
	}
	if err := c.waitFor("kube-apiserver /readyz", 120*time.Second, func() error {
		code, body, err := c.do("GET", "/readyz", nil)
		if err == nil && code != 200 {
			err = fmt.Errorf("HTTP %d: %s", code, body)
		}
		return err
	}); err != nil {
		return nil, err
	}
	if err := c.run("kube-controller-manager", "kube-controller-manager",
		"--kubeconfig="+kubeconfigPath, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file="+pki.file("sa.key"), "--root-ca-file="+pki.file("ca.crt"),
		"--use-service-account-credentials=false",
	); err != nil {
		return nil, err
	}
	if err := c.run("kube-scheduler", "kube-scheduler",
		"--kubeconfig="+kubeconfigPath, "--leader-elect=false", "--secure-port=0",
	); err != nil {
		return nil, err
	}
	kwok, err := exec.LookPath("kwok")
	if err != nil {
		return nil, err
	}
	if err := c.run("kwok", "kwok",
		"--kubeconfig="+kubeconfigPath,
		"--config="+filepath.Join(filepath.Dir(kwok), "kwok-stages.yaml"),
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16", "--node-ip=10.0.0.10",
	); err != nil {
		return nil, err
	}
	for i, zone := range zones {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := map[string]any{
			"apiVersion": "v1", "kind": "Node",
			"metadata": map[string]any{
				"name":        name,
				"annotations": map[string]any{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
				"labels": map[string]any{
					"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "us-east-1", "type": "kwok",
				},
			},
			"status": map[string]any{
				"allocatable": map[string]any{"cpu": "8", "memory": "32Gi", "pods": "110"},
				"capacity":    map[string]any{"cpu": "8", "memory": "32Gi", "pods": "110"},
				"nodeInfo":    map[string]any{"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake"},
			},
		}
		if code, body, err := c.do("POST", "/api/v1/nodes", node); err != nil || code != 201 {
			return nil, fmt.Errorf("create node %s: HTTP %d %s %v", name, code, body, err)
		}
		if err := c.waitFor("node "+name+" Ready", 120*time.Second, func() error {
			var n struct {
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			if err := c.get("/api/v1/nodes/"+name, &n); err != nil {
				return err
			}
			for _, cond := range n.Status.Conditions {
				if cond.Type == "Ready" && cond.Status == "True" {
					return nil
				}
			}
			return errors.New("not Ready")
		}); err != nil {
			return nil, err
		}
	}
	// The controller-manager creates each namespace's default service
	// account; a namespace without one refuses pods for a moment.
	if err := c.waitFor("default service account", 120*time.Second, func() error {
		return c.get("/api/v1/namespaces/default/serviceaccounts/default", nil)
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cluster) run(name, bin string, args ...string) error {
	path, err := exec.LookPath(bin)
	if err != nil {
		return fmt.Errorf("%s: %w (run: eval \"$(scripts/engine-tools.sh)\")", bin, err)
	}
	logPath := filepath.Join(c.dir, "logs", name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Linux: the control plane dies with the test binary, even on a panic.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	c.procs = append(c.procs, p)
	return nil
}

// stop ends the control plane, newest process first.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	c.procs = nil
}

// exited names a control-plane process that is no longer running.
func (c *cluster) exited() string {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return p.name
		default:
		}
	}
	return ""
}

func (c *cluster) logTails() string {
	var sb strings.Builder
	for _, p := range c.procs {
		b, _ := os.ReadFile(p.log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&sb, "--- %s (%s)\n%s\n", p.name, p.log, strings.Join(lines, "\n"))
	}
	return sb.String()
}

func (c *cluster) waitFor(what string, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if name := c.exited(); name != "" {
			return fmt.Errorf("waiting for %s: %s exited", what, name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: %v after %s", what, err, timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c *cluster) do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.server+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// errNotFound is what get returns for HTTP 404.
var errNotFound = errors.New("not found")

// get reads path into out (when non-nil): errNotFound on 404.
func (c *cluster) get(path string, out any) error {
	code, body, err := c.do("GET", path, nil)
	switch {
	case err != nil:
		return err
	case code == 404:
		return fmt.Errorf("GET %s: %w", path, errNotFound)
	case code != 200:
		return fmt.Errorf("GET %s: HTTP %d: %s", path, code, body)
	case out == nil:
		return nil
	}
	return json.Unmarshal(body, out)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pki: a throwaway CA, the apiserver's serving certificate, an admin client
// certificate (system:masters) and the service-account signing key.
type pki struct {
	dir                              string
	caPEM, adminCertPEM, adminKeyPEM []byte
	caKey                            *ecdsa.PrivateKey
	caCert                           *x509.Certificate
	serial                           int64
}

func (p *pki) file(name string) string { return filepath.Join(p.dir, name) }

func newPKI(dir string) (*pki, error) {
	p := &pki{dir: filepath.Join(dir, "pki")}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, err
	}
	var err error
	if p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "engine-tests-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		return nil, err
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	p.serial = 1

	serverCert, serverKey, err := p.issue(pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")})
	if err != nil {
		return nil, err
	}
	if p.adminCertPEM, p.adminKeyPEM, err = p.issue(pkix.Name{CommonName: "engine-tests-admin", Organization: []string{"system:masters"}},
		x509.ExtKeyUsageClientAuth, nil, nil); err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})
	for name, b := range map[string][]byte{"ca.crt": p.caPEM, "apiserver.crt": serverCert, "apiserver.key": serverKey, "sa.key": saPEM} {
		if err := os.WriteFile(p.file(name), b, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *pki) issue(subject pkix.Name, usage x509.ExtKeyUsage, dns []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: dns, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
