# Shared by kube.sh and k8s-node.sh (source it after lib.sh and versions.env): builds of
# commands of k8s.io/kubernetes through a wrapper module, the same way for every component, so
# they share the Go build cache.

# wrapper_build COMPONENT LOG DIR PACKAGE@VERSION OUT LDFLAGS: builds PACKAGE from a throwaway
# module in DIR (its go.mod already written), whose go.mod pins what the package's own module
# cannot (replace lines): `go get` resolves the package's imports, `go build` makes the binary.
wrapper_build() {
  local component=$1 log=$2 dir=$3 pkg=$4 out=$5 ldflags=$6
  (cd "$dir" && with_progress "$component (resolve modules)" "$log" go get "$pkg") \
    || fail "$component" "$log" "go get $pkg failed"
  (cd "$dir" && with_progress "$component (build)" "$log" \
      nice -n 19 go build -trimpath -ldflags "$ldflags" -o "$out" "${pkg%@*}") \
    || fail "$component" "$log" "go build of ${pkg%@*} failed"
}

# write_kube_wrapper COMPONENT LOG DIR: DIR/go.mod requiring k8s.io/kubernetes@v$KUBE_VERSION.
# k8s.io/kubernetes requires its staging modules (k8s.io/api, ...) at v0.0.0 and replaces them
# with ./staging directories that its module zip leaves out: pin each to v0.<minor>.<patch>.
write_kube_wrapper() {
  local component=$1 log=$2 dir=$3 modjson gomod staging="v0.${KUBE_VERSION#*.}"
  modjson=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" 2>>"$log") \
    || fail "$component" "$log" "could not download k8s.io/kubernetes@v$KUBE_VERSION"
  gomod=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])' <<<"$modjson")
  mkdir -p "$dir"
  {
    echo "module order-platform/$component-build"
    echo
    grep -E '^go [0-9]' "$gomod"
    echo
    echo "require k8s.io/kubernetes v$KUBE_VERSION"
    echo
    echo "replace ("
    sed -nE "s|^\s*(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+\s*$|\t\1 => \1 $staging|p" "$gomod"
    echo ")"
  } >"$dir/go.mod"
}

# kube_ldflags: the version stamp `--version` prints (Kubernetes vX.Y.Z), stripped binaries.
kube_ldflags() {
  local v=k8s.io/component-base/version
  echo "-s -w -X $v.gitVersion=v$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=${KUBE_VERSION#1.} -X $v.gitTreeState=clean"
}
