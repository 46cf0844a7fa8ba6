module envd-remote-build/bench/tls-relay

go 1.21
