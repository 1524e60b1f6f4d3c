package posture

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns the headless browser the report test renders with:
// $ATREST_CHROMIUM, else /usr/bin/chromium (Debian's chromium package,
// which make deps installs in CI). Without one the test is skipped, saying
// so, except in CI (CI=true), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("renders the report in headless Chromium: skipped under -short (make check); make test runs it")
	}
	bin := os.Getenv("ATREST_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "no Chromium at " + bin + " (set ATREST_CHROMIUM, or install Debian's chromium package: make deps as root)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// runChromium runs headless Chromium on the file with its own profile
// directory and no network beyond the file, and returns its standard
// output.
func runChromium(t *testing.T, bin, file string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
	}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+file)...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return stdout.String()
}

func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	f, err := os.Create(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, reportPosture(), Options{Title: "atrest posture test", Timeline: true, Generated: t0}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("the page's text", func(t *testing.T) {
		dom := runChromium(t, bin, report, "--dump-dom")
		for _, want := range []string{
			"atrest posture test",
			"fs-0fedcba9876543210", "fs-0123456789abcdef0", "1234abcd-12ab-34cd-56ef-1234567890ab", "atrest-trail",
			">NON_COMPLIANT<", ">ERROR<", ">COMPLIANT<",
			"Timeline of transitions (newest first)",
			// The hostile reason is text, escaped in the DOM Chromium built.
			"&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;",
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("the DOM Chromium built does not hold %q", want)
			}
		}
		if strings.Contains(dom, "<script") || strings.Contains(dom, "<img") {
			t.Error("the DOM Chromium built holds a script or image element")
		}
	})

	t.Run("the screenshot is not blank", func(t *testing.T) {
		shot := filepath.Join(dir, "report.png")
		runChromium(t, bin, report, "--screenshot="+shot, "--window-size=1280,1600", "--hide-scrollbars")
		in, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		img, err := png.Decode(in)
		if err != nil {
			t.Fatalf("decode the screenshot: %v", err)
		}
		b := img.Bounds()
		if b.Dx() != 1280 || b.Dy() != 1600 {
			t.Errorf("screenshot is %dx%d, want 1280x1600", b.Dx(), b.Dy())
		}
		colours := map[[3]uint32]bool{}
		nonWhite, red, green := 0, 0, 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				r, g, bl = r>>8, g>>8, bl>>8
				colours[[3]uint32{r, g, bl}] = true
				if r < 240 || g < 240 || bl < 240 {
					nonWhite++
				}
				// The status colours: #c62828 (NON_COMPLIANT), #2e7d32
				// (COMPLIANT), drawn by the style sheet and the SVG bars.
				if r > 180 && g < 70 && bl < 70 {
					red++
				}
				if r < 70 && g > 100 && g < 150 && bl < 70 {
					green++
				}
			}
		}
		total := b.Dx() * b.Dy()
		t.Logf("%d colours, %d of %d pixels not white, %d red, %d green", len(colours), nonWhite, total, red, green)
		if len(colours) < 16 || nonWhite < total/50 {
			t.Errorf("screenshot looks blank: %d colours, %d of %d pixels not white", len(colours), nonWhite, total)
		}
		if red < 2000 || green < 2000 {
			t.Errorf("screenshot lacks the status colours (bars and badges): %d red, %d green pixels", red, green)
		}
	})
}
