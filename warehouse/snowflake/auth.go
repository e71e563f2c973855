package snowflake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/devpulse/devpulse/config"
)

var quietDriver sync.Once

// DriverConfig turns devpulse's configuration into gosnowflake's.
func DriverConfig(c config.Snowflake) (*sf.Config, error) {
	// The driver logs failed logins and retries itself; devpulse reports
	// errors once, wrapped with what it was doing.
	quietDriver.Do(func() {
		// "OFF" alone is not enough: the driver also logs through entries
		// that bypass the switch, so raise the level above error as well.
		l := sf.GetLogger()
		_ = l.SetLogLevel("panic")
		l.SetOutput(io.Discard)
	})
	timeout := time.Duration(c.Timeout)
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	stmtTimeout := strconv.Itoa(int(timeout / time.Second))
	utc, monday := "UTC", "1"
	dc := &sf.Config{
		Account: c.Account, User: c.User, Role: c.Role, Warehouse: c.Warehouse, Database: c.Database, Schema: c.Schema,
		Host: c.Host, Port: c.Port, Protocol: c.Protocol,
		Application:  "devpulse",
		LoginTimeout: timeout, ClientTimeout: timeout + time.Minute,
		// Timestamps land in UTC and weeks start on Monday, as in DuckDB, so
		// DATE_TRUNC('week') in the dashboard views means the same on both.
		Params: map[string]*string{"TIMEZONE": &utc, "WEEK_START": &monday, "STATEMENT_TIMEOUT_IN_SECONDS": &stmtTimeout},
	}
	if dc.Host == "" {
		dc.Host = c.Account + ".snowflakecomputing.com"
	}
	if dc.Port == 0 {
		dc.Port = 443
		if c.Protocol == "http" {
			dc.Port = 80
		}
	}
	if dc.Protocol == "" {
		dc.Protocol = "https"
	}
	switch c.AuthMethod() {
	case "keypair":
		pemBytes := []byte(c.PrivateKey.Reveal())
		if c.PrivateKeyFile != "" {
			b, err := os.ReadFile(c.PrivateKeyFile)
			if err != nil {
				return nil, fmt.Errorf("snowflake: read warehouse.snowflake.private_key_file: %w", err)
			}
			pemBytes = b
		}
		key, err := ParsePrivateKey(pemBytes, []byte(c.PrivateKeyPassphrase.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("snowflake: warehouse.snowflake.private_key: %w", err)
		}
		dc.Authenticator = sf.AuthTypeJwt
		dc.PrivateKey = key
	case "pat":
		dc.Authenticator = sf.AuthTypePat
		dc.Token = c.Token.Reveal()
	default:
		dc.Authenticator = sf.AuthTypeSnowflake
		dc.Password = c.Password.Reveal()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("snowflake: read warehouse.snowflake.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("snowflake: warehouse.snowflake.ca_file %s holds no PEM certificate", c.CAFile)
		}
		dc.Transporter = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 30 * time.Second, ResponseHeaderTimeout: timeout, IdleConnTimeout: 90 * time.Second}
	}
	return dc, nil
}

// ParsePrivateKey reads an RSA private key from PEM: PKCS#8 (as Snowflake's
// key-pair guide makes it), encrypted PKCS#8 (PBES2: PBKDF2 with AES-CBC,
// openssl's default for `pkcs8 -topk8 -v2 aes256`) or PKCS#1.
func ParsePrivateKey(pemBytes, passphrase []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found (want -----BEGIN PRIVATE KEY-----)")
	}
	der := block.Bytes
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		if len(passphrase) == 0 {
			return nil, errors.New("the key is encrypted: set private_key_passphrase_env")
		}
		var err error
		if der, err = decryptPKCS8(der, passphrase); err != nil {
			return nil, err
		}
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(der)
	case "PRIVATE KEY":
	default:
		return nil, fmt.Errorf("unexpected PEM block %q (want PRIVATE KEY or ENCRYPTED PRIVATE KEY)", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is %T; Snowflake key-pair authentication needs RSA", k)
	}
	return rk, nil
}

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type encryptedPKCS8 struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Cipher pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt      []byte
	Iter      int
	KeyLength int                      `asn1:"optional"`
	PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
}

func decryptPKCS8(der, pass []byte) ([]byte, error) {
	var enc encryptedPKCS8
	if _, err := asn1.Unmarshal(der, &enc); err != nil {
		return nil, fmt.Errorf("encrypted key: %w", err)
	}
	if !enc.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted key uses %v; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes256`", enc.Algo.Algorithm)
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(enc.Algo.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("encrypted key parameters: %w", err)
	}
	if !p.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("encrypted key: key derivation %v is not PBKDF2", p.KDF.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("encrypted key PBKDF2 parameters: %w", err)
	}
	var prf func() hash.Hash
	switch {
	case kdf.PRF.Algorithm == nil || kdf.PRF.Algorithm.Equal(oidHMACSHA1):
		prf = sha1.New
	case kdf.PRF.Algorithm.Equal(oidHMACSHA256):
		prf = sha256.New
	default:
		return nil, fmt.Errorf("encrypted key: PBKDF2 PRF %v is not supported (use HMAC-SHA256)", kdf.PRF.Algorithm)
	}
	var keyLen int
	switch {
	case p.Cipher.Algorithm.Equal(oidAES128CBC):
		keyLen = 16
	case p.Cipher.Algorithm.Equal(oidAES192CBC):
		keyLen = 24
	case p.Cipher.Algorithm.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, fmt.Errorf("encrypted key: cipher %v is not supported (use aes256)", p.Cipher.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.Cipher.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, errors.New("encrypted key: bad AES IV")
	}
	key, err := pbkdf2.Key(prf, string(pass), kdf.Salt, kdf.Iter, keyLen)
	if err != nil {
		return nil, fmt.Errorf("encrypted key: %w", err)
	}
	block, _ := aes.NewCipher(key)
	if len(enc.Data)%aes.BlockSize != 0 || len(enc.Data) == 0 {
		return nil, errors.New("encrypted key: data is not whole AES blocks")
	}
	out := make([]byte, len(enc.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, enc.Data)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize || pad > len(out) {
		return nil, errors.New("encrypted key: wrong passphrase")
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errors.New("encrypted key: wrong passphrase")
		}
	}
	return out[:len(out)-pad], nil
}
