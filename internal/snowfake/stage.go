package snowfake

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Staged array binds. Above CLIENT_STAGE_ARRAY_BINDING_THRESHOLD values the
// driver does not send binds inline: it creates the temporary stage
// SYSTEM$BIND, PUTs the rows there as gzipped CSV, and sends the INSERT with
// bindStage instead of bindings. The fake's stage answers like a GCS stage
// with presigned URLs that point back at the fake: the driver encrypts each
// file (AES-CBC under a random key wrapped with the stage master key the
// fake handed out, as for real cloud stages), uploads it with an HTTP PUT,
// and the fake decrypts and reads it on INSERT.

var (
	rePut       = regexp.MustCompile(`(?is)^\s*PUT\s+'file://([^']+)'\s+'@?([^'/]+)/([^']+)'`)
	reBindStage = regexp.MustCompile(`(?i)^@?SYSTEM\$BIND/(.+)$`)
)

type stagedFile struct {
	body       []byte
	encryption string // x-goog-meta-encryptiondata
}

// put answers a PUT with the file-transfer instructions of the stage.
func (s *Server) put(q string) (map[string]any, error) {
	m := rePut.FindStringSubmatch(q)
	if m == nil || !strings.EqualFold(m[2], "SYSTEM$BIND") {
		return nil, &sfErr{"001003", "42000", "SQL compilation error: snowfake only supports PUT to @SYSTEM$BIND"}
	}
	dir, file := filepath.Base(m[3]), filepath.Base(m[1])
	return map[string]any{
		"command": "UPLOAD", "src_locations": []string{m[1]}, "parallel": 1, "autoCompress": true, "overwrite": true,
		"sourceCompression": "auto_detect", "statementTypeId": stmtDDL,
		"encryptionMaterial": map[string]any{"queryStageMasterKey": base64.StdEncoding.EncodeToString(s.stageKey), "queryId": "stage", "smkId": 1},
		"stageInfo": map[string]any{"locationType": "GCS", "location": "snowfake-stage/" + dir + "/", "path": dir + "/",
			"presignedUrl": s.URL + "/stage/" + dir + "/" + file + ".gz"},
	}, nil
}

// upload takes a presigned PUT of a staged file.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.staged[strings.TrimPrefix(r.URL.Path, "/stage/")] = stagedFile{body: body, encryption: r.Header.Get("x-goog-meta-encryptiondata")}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// decrypt undoes the driver's client-side encryption of a staged file.
func (s *Server) decrypt(f stagedFile) ([]byte, error) {
	if f.encryption == "" {
		return f.body, nil
	}
	var meta struct {
		WrappedContentKey   struct{ EncryptedKey string }
		ContentEncryptionIV string
	}
	if err := json.Unmarshal([]byte(f.encryption), &meta); err != nil {
		return nil, err
	}
	wrapped, err := base64.StdEncoding.DecodeString(meta.WrappedContentKey.EncryptedKey)
	if err != nil {
		return nil, err
	}
	iv, err := base64.StdEncoding.DecodeString(meta.ContentEncryptionIV)
	if err != nil {
		return nil, err
	}
	kek, _ := aes.NewCipher(s.stageKey)
	key := make([]byte, len(wrapped))
	for i := 0; i+aes.BlockSize <= len(wrapped); i += aes.BlockSize { // ECB
		kek.Decrypt(key[i:], wrapped[i:])
	}
	key = key[:len(s.stageKey)]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(f.body)%aes.BlockSize != 0 || len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("staged file is not whole AES blocks")
	}
	out := make([]byte, len(f.body))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, f.body)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, fmt.Errorf("bad padding")
	}
	return out[:len(out)-pad], nil
}

// stagedRows reads the files the driver put under the bind stage path, as
// columns of string values (nil for NULL).
func (s *Server) stagedRows(stage string, ncols int) ([]any, int, error) {
	m := reBindStage.FindStringSubmatch(stage)
	if m == nil {
		return nil, 0, &sfErr{"002003", "02000", "SQL compilation error: Stage '" + stage + "' does not exist or not authorized."}
	}
	prefix := filepath.Base(m[1]) + "/"
	s.mu.Lock()
	var names []string
	files := map[string]stagedFile{}
	for k, f := range s.staged {
		if strings.HasPrefix(k, prefix) {
			names = append(names, k)
			files[k] = f
			delete(s.staged, k)
		}
	}
	s.mu.Unlock()
	if len(names) == 0 {
		return nil, 0, &sfErr{"002003", "02000", "SQL compilation error: Stage '" + stage + "' is empty or does not exist."}
	}
	// The driver names the files 1, 2, ...: load them in that order.
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) < len(names[j])
		}
		return names[i] < names[j]
	})
	cols := make([][]any, ncols)
	n := 0
	for _, name := range names {
		raw, err := s.decrypt(files[name])
		if err != nil {
			return nil, 0, &sfErr{"000603", "XX000", "decrypt staged file " + name + ": " + err.Error()}
		}
		if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return nil, 0, &sfErr{"000603", "XX000", err.Error()}
			}
			if raw, err = io.ReadAll(zr); err != nil {
				return nil, 0, &sfErr{"000603", "XX000", err.Error()}
			}
		}
		for _, rec := range parseCSV(string(raw)) {
			if len(rec) != ncols {
				return nil, 0, &sfErr{"100080", "22000", fmt.Sprintf("Number of columns in file (%d) does not match that of the corresponding table (%d)", len(rec), ncols)}
			}
			for j, v := range rec {
				cols[j] = append(cols[j], v)
			}
			n++
		}
	}
	out := make([]any, ncols)
	for j := range cols {
		out[j] = cols[j]
	}
	return out, n, nil
}

// parseCSV reads the stage's CSV (field_optionally_enclosed_by='"'): an
// unquoted empty field is NULL, a quoted one the empty string.
func parseCSV(s string) [][]any {
	var rows [][]any
	var row []any
	var field strings.Builder
	quoted, inQuotes, pending := false, false, false
	flush := func() {
		if !quoted && field.Len() == 0 {
			row = append(row, nil)
		} else {
			row = append(row, field.String())
		}
		field.Reset()
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		pending = true
		switch {
		case inQuotes && c == '"' && i+1 < len(s) && s[i+1] == '"':
			field.WriteByte('"')
			i++
		case inQuotes && c == '"':
			inQuotes = false
		case inQuotes:
			field.WriteByte(c)
		case c == '"':
			inQuotes, quoted = true, true
		case c == ',':
			flush()
		case c == '\n':
			flush()
			rows = append(rows, row)
			row, pending = nil, false
		default:
			field.WriteByte(c)
		}
	}
	if pending {
		flush()
		rows = append(rows, row)
	}
	return rows
}

// stagedInsert runs an INSERT whose binds were staged.
func (s *Server) stagedInsert(ctx context.Context, se *session, q, stage string) (map[string]any, error) {
	m := reInsert.FindStringSubmatch(q)
	if m == nil {
		return nil, &sfErr{"002047", "42000", "snowfake: staged binds need INSERT INTO t (cols) VALUES (?, ...)"}
	}
	cols, n, err := s.stagedRows(stage, len(strings.Split(m[2], ",")))
	if err != nil {
		return nil, err
	}
	s.StagedBinds.Add(1)
	return s.arrayInsert(ctx, se, q, cols, n)
}
