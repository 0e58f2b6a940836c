//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageBuildsFromScratch builds the container image with
// deploy/build-image.sh (buildah, no base image from a registry), checks
// what is in it and runs `ssebench version` inside it with buildah run.
// podman run is tried too; where this machine refuses it (a sandbox that
// cannot set a container's rlimits), the test logs why and goes on.
func TestImageBuildsFromScratch(t *testing.T) {
	t.Parallel() // a build and a short process; no load
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("the image test needs buildah: %v", err)
	}
	tag := fmt.Sprintf("localhost/ssebench-test:%d", os.Getpid())
	bash := func(args ...string) (string, error) {
		b, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		return string(b), err
	}
	if out, err := bash("deploy/build-image.sh", tag); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { bash("buildah", "rmi", "-f", tag) })

	out, err := bash("buildah", "inspect", "--type", "image", "--format", "{{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.User}}", tag)
	if err != nil || strings.TrimSpace(out) != "[/ssebench] 65532:65532" {
		t.Fatalf("image config %q (%v): want entrypoint [/ssebench], user 65532:65532", out, err)
	}

	ctr, err := bash("buildah", "from", "--name", fmt.Sprintf("ssebench-test-%d", os.Getpid()), tag)
	if err != nil {
		t.Fatalf("buildah from: %v\n%s", err, ctr)
	}
	ctr = strings.TrimSpace(ctr)
	t.Cleanup(func() { bash("buildah", "rm", ctr) })
	mnt, err := bash("buildah", "mount", ctr)
	if err != nil {
		t.Fatalf("buildah mount: %v\n%s", err, mnt)
	}
	root := strings.TrimSpace(mnt)
	var files []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if strings.Join(files, " ") != "etc/ssl/certs/ca-certificates.crt ssebench" {
		t.Errorf("files in the image: %v, want the CA bundle and /ssebench only", files)
	}
	host, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	img, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
	if err != nil || len(host) == 0 || !bytes.Equal(host, img) {
		t.Errorf("CA bundle in the image (%d bytes, %v) is not the host's (%d bytes)", len(img), err, len(host))
	}
	if fi, err := os.Stat(filepath.Join(root, "ssebench")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("/ssebench: %v, mode %v", err, fi)
	}

	out, err = bash("buildah", "run", "--isolation", "chroot", ctr, "/ssebench", "version")
	if err != nil || !strings.HasPrefix(out, "ssebench ") {
		t.Errorf("buildah run /ssebench version: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("podman"); err == nil {
		out, err := bash("podman", "run", "--rm", "--network", "none", tag, "version")
		if err != nil {
			t.Logf("podman run cannot run a container here: %v: %s", err, strings.TrimSpace(out))
		} else if !strings.HasPrefix(out, "ssebench ") {
			t.Errorf("podman run %s version: %s", tag, out)
		}
	}
}
