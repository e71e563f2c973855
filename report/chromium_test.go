package report

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestHTML_RendersInChromium opens the page in headless Chromium, as a person
// would, and checks the screenshot is a page and not a blank.
func TestHTML_RendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
		}
		t.Skip("chromium not installed (apt-get install chromium); CI runs this test")
	}
	rs, o := results(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rs, o, now); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1280,1600", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	colors := map[uint32]bool{}
	ink, total := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			if r < 0xE000 || g < 0xE000 || bl < 0xE000 {
				ink++
			}
			total++
		}
	}
	// A rendered report has a dark header, coloured tiles and charts: many
	// colours and a good share of non-white pixels. A blank page has neither.
	if len(colors) < 50 || float64(ink)/float64(total) < 0.08 {
		t.Errorf("screenshot looks blank: %d colours, %.1f%% ink", len(colors), 100*float64(ink)/float64(total))
	}

	// Every section is in the page Chromium built (not only in the bytes we
	// wrote): the DOM after parsing, with each section's anchor and a drawn chart.
	dom, err := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--user-data-dir="+filepath.Join(dir, "profile2"), "--dump-dom", "file://"+page).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for _, id := range []string{"team-shop", "team-shop-delivery", "team-shop-score", "team-shop-deployments", "team-shop-sprints",
		"team-shop-flow", "team-shop-trends", "team-shop-metrics", "team-shop-changes", "team-shop-incidents", "team-shop-wip",
		"project-app-sprints", "project-acme-api-deployments"} {
		if !bytes.Contains(dom, []byte(`id="`+id+`"`)) {
			t.Errorf("the rendered page has no section %q", id)
		}
	}
	for _, label := range []string{`aria-label="cumulative flow"`, `aria-label="cycle time scatter"`, `aria-label="burn-up of APP Sprint 1"`, "failed: rolled back"} {
		if !bytes.Contains(dom, []byte(label)) {
			t.Errorf("the rendered page lacks %s", label)
		}
	}
}
