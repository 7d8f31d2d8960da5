// Command brokercheck waits until a real Kafka or Pulsar broker really serves
// (metadata/admin REST plus a produce/consume round trip). scripts/brokers/*.sh
// wait run it; it exits 0 when ready and 1 with the last error otherwise.
//
//	brokercheck kafka  -brokers 127.0.0.1:9092 [-scram-user U -scram-password-file F -ca F] [-timeout 2m] [-pidfile F]
//	brokercheck pulsar -url pulsar://127.0.0.1:6650 -http http://127.0.0.1:8080 [-token-file F -ca F] [-timeout 3m] [-pidfile F]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latencywatch/latencywatch/internal/testbrokers/probe"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: brokercheck kafka|pulsar [flags]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "brokercheck %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(kind string, args []string) error {
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	pidfile := fs.String("pidfile", "", "stop early if the process in this PID file dies")
	ca := fs.String("ca", "", "CA bundle (PEM) for TLS")
	brokers := fs.String("brokers", "", "kafka: comma-separated seed brokers")
	user := fs.String("scram-user", "", "kafka: SCRAM-SHA-512 user")
	passFile := fs.String("scram-password-file", "", "kafka: file holding the SCRAM password")
	url := fs.String("url", "", "pulsar: service URL")
	httpURL := fs.String("http", "", "pulsar: admin REST base URL")
	tokenFile := fs.String("token-file", "", "pulsar: file holding a JWT")
	if err := fs.Parse(args); err != nil {
		return err
	}
	readFile := func(name string) (string, error) {
		if name == "" {
			return "", nil
		}
		b, err := os.ReadFile(name)
		return strings.TrimSpace(string(b)), err
	}

	var attempt func(context.Context) error
	switch kind {
	case "kafka":
		if *brokers == "" {
			return errors.New("-brokers is required")
		}
		pass, err := readFile(*passFile)
		if err != nil {
			return err
		}
		k := probe.Kafka{Brokers: strings.Split(*brokers, ","), SCRAMUser: *user, SCRAMPassword: pass, CAFile: *ca}
		attempt = func(ctx context.Context) error { return probe.KafkaRoundTrip(ctx, k) }
	case "pulsar":
		if *url == "" {
			return errors.New("-url is required")
		}
		token, err := readFile(*tokenFile)
		if err != nil {
			return err
		}
		p := probe.Pulsar{URL: *url, HTTPURL: *httpURL, Token: token, CAFile: *ca}
		attempt = func(ctx context.Context) error { return probe.PulsarRoundTrip(ctx, p) }
	default:
		return fmt.Errorf("unknown broker kind %q (want kafka or pulsar)", kind)
	}

	deadline := time.Now().Add(*timeout)
	var last error
	for time.Now().Before(deadline) {
		if err := processGone(*pidfile); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), min(15*time.Second, time.Until(deadline)))
		last = attempt(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if probe.IsAuthError(last) {
			return fmt.Errorf("credentials refused (retrying cannot help): %w", last)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %w", *timeout, last)
}

// processGone returns an error if pidfile is set and its process no longer exists.
func processGone(pidfile string) error {
	if pidfile == "" {
		return nil
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return fmt.Errorf("broker process gone: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad PID file %s: %w", pidfile, err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return fmt.Errorf("broker process %d exited (see its log)", pid)
	}
	return nil
}
