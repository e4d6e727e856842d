// The pod sandbox's pause process for the e2e node (hack/build-images.sh builds it FROM scratch).
module alchemiscale.org/strategy-operator/hack/pause

go 1.26.0
