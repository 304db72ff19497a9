package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TLSFiles are PEM files of a private CA and a server certificate it signed
// for 127.0.0.1 and localhost, as a managed Redis with a private CA has.
type TLSFiles struct {
	CA, Cert, Key string
}

// NewTLSFiles makes a CA and a server certificate in tb's temporary folder.
func NewTLSFiles(tb testing.TB) TLSFiles {
	tb.Helper()
	files, err := makeTLSFiles(tb.TempDir())
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return files
}

func makeTLSFiles(dir string) (TLSFiles, error) {
	files := TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server-key.pem")}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return files, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return files, err
	}
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return files, err
	}
	server := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, server, ca, &serverKey.PublicKey, caKey)
	if err != nil {
		return files, err
	}
	keyDER, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		return files, err
	}
	for path, block := range map[string]*pem.Block{
		files.CA: {Type: "CERTIFICATE", Bytes: caDER}, files.Cert: {Type: "CERTIFICATE", Bytes: serverDER},
		files.Key: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return files, err
		}
	}
	return files, nil
}

// StartTLS starts a redis-server that speaks only TLS on a free loopback port,
// with files's certificate, and returns its address. Clients need no
// certificate of their own. The server is killed when tb ends; it fails tb if
// redis-server was built without TLS.
func StartTLS(tb testing.TB, files TLSFiles) string {
	tb.Helper()
	ca, err := os.ReadFile(files.CA)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	var lastErr error
	for range tcpAttempts {
		addr, err := freeLoopbackAddr()
		if err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		opts := &redis.Options{Addr: addr, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: "127.0.0.1"}}
		lastErr = start(tb, opts, "--port", "0", "--tls-port", port, "--bind", "127.0.0.1",
			"--tls-cert-file", files.Cert, "--tls-key-file", files.Key, "--tls-ca-cert-file", files.CA,
			"--tls-auth-clients", "no")
		if lastErr == nil {
			return addr
		}
	}
	tb.Fatalf("redistest: a TLS redis-server: %v", fmt.Errorf("%w (is redis-server built with TLS? ldd it for libssl)", lastErr))
	return ""
}
