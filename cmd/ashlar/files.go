package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/server"
)

// filesConfig configures uploaded files: where they are kept, how large
// they may be, and how they are scanned.
type filesConfig struct {
	Dir, S3Endpoint, S3Bucket, S3Region, MaxSize, ScanCommand, Clamd string
	S3PathStyle                                                      bool
	UploadRate, UploadBurst                                          int
	maxBytes                                                         int64
}

func (c *filesConfig) define(fs *flagSet) {
	fs.StringVar(&c.Dir, "files-dir", "./ashlar-files", "directory for uploaded files (when not using S3)")
	fs.StringVar(&c.S3Endpoint, "files-s3-endpoint", "", "S3-compatible endpoint URL to keep files in instead of --files-dir (credentials from ASHLAR_S3_ACCESS_KEY_ID/ASHLAR_S3_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.S3Bucket, "files-s3-bucket", "", "S3 bucket")
	fs.StringVar(&c.S3Region, "files-s3-region", "us-east-1", "S3 region")
	fs.BoolVar(&c.S3PathStyle, "files-s3-path-style", true, "address S3 objects as ENDPOINT/BUCKET/KEY (MinIO and most self-hosted stores); false for BUCKET.HOST/KEY")
	fs.StringVar(&c.MaxSize, "max-upload-size", "20MB", "largest file accepted, e.g. 20MB or 512KB")
	fs.StringVar(&c.ScanCommand, "scan-command", "", "command that scans each upload, given its path as the last argument: exit 0 clean, 1 infected (e.g. 'clamdscan --no-summary')")
	fs.StringVar(&c.Clamd, "clamd", "", "clamd address to scan uploads with: unix:/path/to/clamd.ctl or host:port")
	fs.IntVar(&c.UploadRate, "upload-rate-limit", 60, "POSTs a minute accepted on the upload URL (/files/upload) from one IP address (0: no limit)")
	fs.IntVar(&c.UploadBurst, "upload-rate-burst", 30, "burst size for --upload-rate-limit")
}

// check validates the settings before anything starts.
func (c *filesConfig) check() error {
	size, err := parseSize(c.MaxSize)
	if err != nil {
		return usageError{fmt.Sprintf("--max-upload-size: %v", err)}
	}
	c.maxBytes = size
	if c.S3Endpoint != "" && c.S3Bucket == "" {
		return usageError{"--files-s3-bucket is required with --files-s3-endpoint"}
	}
	if c.ScanCommand != "" && c.Clamd != "" {
		return usageError{"use one of --scan-command and --clamd"}
	}
	return nil
}

// startFiles sets up the file store (upload targets, signed downloads)
// and its hourly sweep (a periodic job).
func startFiles(ctx context.Context, e *env, srv *server.Server, c filesConfig, baseURL string, bodyTimeout time.Duration) error {
	cfg := files.Config{MaxSize: c.maxBytes, BaseURL: baseURL, Log: srv.Log, UploadsPerMinute: c.UploadRate,
		UploadBurst: burstOrOff(c.UploadRate, c.UploadBurst), BodyTimeout: bodyTimeout}
	if c.S3Endpoint != "" {
		key := firstEnv(e, "ASHLAR_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")
		secret := firstEnv(e, "ASHLAR_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")
		cfg.Blobs = &files.S3{Endpoint: c.S3Endpoint, Bucket: c.S3Bucket, Region: c.S3Region, PathStyle: c.S3PathStyle,
			AccessKey: key, SecretKey: secret, HTTP: &http.Client{Timeout: 5 * time.Minute}}
	} else {
		disk, err := files.NewDisk(c.Dir)
		if err != nil {
			return err
		}
		cfg.Blobs = disk
	}
	switch {
	case c.ScanCommand != "":
		cfg.Scanner = files.CommandScanner{Command: strings.Fields(c.ScanCommand)}
	case c.Clamd != "":
		cfg.Scanner = files.ClamdScanner{Addr: c.Clamd}
	}
	st, err := files.New(srv.DB, cfg)
	if err != nil {
		return err
	}
	srv.Service.Files = st
	st.Routes(srv.Mux)
	return registerFileSweep(srv, st)
}

// registerFileSweep removes expired uploads and unclaimed files every
// hour, as a periodic job: one process sweeps per hour.
func registerFileSweep(srv *server.Server, st *files.Store) error {
	return srv.Jobs.Register(jobqueue.Kind{
		Name: "files.sweep", Every: time.Hour, Timeout: 30 * time.Minute, MaxAttempts: 1,
		Handler: jobqueue.Handler{Work: func(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
			n, err := st.Sweep(ctx)
			if err != nil {
				srv.Log.Error("sweep files", "error", err)
				return jobqueue.Result{State: jobqueue.Failed, Outcome: "error", Err: err.Error()}
			}
			if n > 0 {
				srv.Log.Info("swept unclaimed files", "count", n)
			}
			return jobqueue.Result{State: jobqueue.Succeeded, Outcome: "success", Detail: map[string]int{"swept": n}}
		}},
	})
}

func firstEnv(e *env, names ...string) string {
	for _, n := range names {
		if v := e.getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// parseSize reads "20MB", "512KB", "1GB" or a number of bytes.
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	return n * mult, nil
}
