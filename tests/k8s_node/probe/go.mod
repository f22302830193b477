module order-platform/k8s-node-probe

go 1.24
