// Package localstack starts hh-enrich-svc's whole stack on loopback for the
// harnesses in cmd (hh-enrich-bench, hh-enrich-chaos): a real redis-server (in
// memory, or with an append-only file so it can be killed and started again with
// its data), a local stand-in for hh-embed-svc whose faults can be switched on
// and off, the service binary (one or more instances on one Redis) with its
// Python plugin pool, and for the fault scenarios a fake Together AI process and
// the Firestore emulator, both restartable on the same port. It also holds the
// client the harnesses talk to the service with.
//
// Every process it starts is killed by the kernel if the harness dies first
// (Pdeathsig), and every Close waits for what it stops: nothing outlives a run.
// It is for harnesses and tests on one machine, never for production.
package localstack
