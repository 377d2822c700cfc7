# dpdk-testpmd --cmdline-file: scenario (a) from testpmd, a pod's UDP flow into
# kdpu's vNIC port (testpmd port 0) and, encapsulated, out of its uplink
# (testpmd port 1). The addresses, gateway MAC and size come from testpmd's
# command line (see docs/benchmarks.md, "Driving kdpu from testpmd or pktgen").
set txpkts 64
start
