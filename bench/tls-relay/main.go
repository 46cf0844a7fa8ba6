// tls-relay: the benchmark's control for the envd gateway. It gives envd the
// same mutual-TLS builder the action's gateway talks to, with nothing in
// between but a compiled TLS connection: bytes are copied both ways, never
// parsed. envd through this relay is the fastest any TLS path from envd to
// that builder can be on the machine, so it separates what TLS itself costs
// from what the gateway adds. Bench only; the action never runs it.
//
// Usage: tls-relay -upstream HOST:PORT -ca CA -cert CERT -key KEY -server-name NAME
// It listens on 127.0.0.1 (a free port) and prints "listening on ADDR".
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
)

func main() {
	upstream := flag.String("upstream", "", "builder address, host:port")
	caFile := flag.String("ca", "", "CA certificate (PEM) the builder's certificate must chain to")
	certFile := flag.String("cert", "", "client certificate (PEM)")
	keyFile := flag.String("key", "", "client key (PEM)")
	serverName := flag.String("server-name", "", "name the builder's certificate must carry")
	flag.Parse()
	if *upstream == "" || *caFile == "" || *certFile == "" || *keyFile == "" || *serverName == "" {
		log.Fatal("tls-relay: -upstream, -ca, -cert, -key and -server-name are required")
	}
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("tls-relay: client certificate: %v", err)
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("tls-relay: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		log.Fatalf("tls-relay: no certificate in %s", *caFile)
	}
	// Verification on, as in the action; gRPC needs ALPN h2.
	config := &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: *serverName, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("tls-relay: %v", err)
	}
	fmt.Printf("listening on %s\n", listener.Addr())
	for {
		client, err := listener.Accept()
		if err != nil {
			log.Fatalf("tls-relay: %v", err)
		}
		go relay(client, *upstream, config)
	}
}

func relay(client net.Conn, upstream string, config *tls.Config) {
	defer client.Close()
	builder, err := tls.Dial("tcp", upstream, config)
	if err != nil {
		log.Printf("tls-relay: %s: %v", upstream, err)
		return
	}
	defer builder.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(builder, client); builder.CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(client, builder); done <- struct{}{} }()
	<-done
	<-done
}
