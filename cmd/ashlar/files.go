package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ashlarhq/ashlar/api"
	"github.com/ashlarhq/ashlar/files"
	"github.com/ashlarhq/ashlar/server"
)

func init() {
	var (
		dir, s3Endpoint, s3Bucket, s3Region, maxSize, scanCmd, clamd *string
		s3PathStyle                                                  *bool
		uploadRate, uploadBurst                                      *int
	)
	serveHooks = append(serveHooks, serveHook{
		name: "files",
		flags: func(fs *flag.FlagSet) {
			// Flag defaults come from the process environment, as serve's own do.
			e := &env{getenv: os.Getenv}
			dir = fs.String("files-dir", envOr(e, "ASHLAR_FILES_DIR", "./ashlar-files"), "directory for uploaded files (when not using S3); env ASHLAR_FILES_DIR")
			s3Endpoint = fs.String("files-s3-endpoint", e.getenv("ASHLAR_S3_ENDPOINT"), "S3-compatible endpoint URL to keep files in instead of --files-dir (credentials from ASHLAR_S3_ACCESS_KEY_ID/ASHLAR_S3_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); env ASHLAR_S3_ENDPOINT")
			s3Bucket = fs.String("files-s3-bucket", e.getenv("ASHLAR_S3_BUCKET"), "S3 bucket; env ASHLAR_S3_BUCKET")
			s3Region = fs.String("files-s3-region", envOr(e, "ASHLAR_S3_REGION", "us-east-1"), "S3 region; env ASHLAR_S3_REGION")
			s3PathStyle = fs.Bool("files-s3-path-style", true, "address S3 objects as ENDPOINT/BUCKET/KEY (MinIO and most self-hosted stores); false for BUCKET.HOST/KEY")
			maxSize = fs.String("max-upload-size", envOr(e, "ASHLAR_MAX_UPLOAD_SIZE", "20MB"), "largest file accepted, e.g. 20MB or 512KB; env ASHLAR_MAX_UPLOAD_SIZE")
			scanCmd = fs.String("scan-command", e.getenv("ASHLAR_SCAN_COMMAND"), "command that scans each upload, given its path as the last argument: exit 0 clean, 1 infected (e.g. 'clamdscan --no-summary'); env ASHLAR_SCAN_COMMAND")
			clamd = fs.String("clamd", e.getenv("ASHLAR_CLAMD"), "clamd address to scan uploads with: unix:/path/to/clamd.ctl or host:port; env ASHLAR_CLAMD")
			uploadRate = fs.Int("upload-rate-limit", 60, "POSTs a minute accepted on the upload URL (/files/upload) from one IP address (0: no limit)")
			uploadBurst = fs.Int("upload-rate-burst", 30, "burst size for --upload-rate-limit")
		},
		start: func(ctx context.Context, srv *server.Server, o *serveOptions) error {
			size, err := parseSize(*maxSize)
			if err != nil {
				return usageError{fmt.Sprintf("--max-upload-size: %v", err)}
			}
			cfg := files.Config{MaxSize: size, BaseURL: o.BaseURL, Log: srv.Log, UploadsPerMinute: *uploadRate, UploadBurst: *uploadBurst, BodyTimeout: o.BodyTimeout}
			if *uploadRate == 0 {
				cfg.UploadBurst = -1
			}
			if *s3Endpoint != "" {
				if *s3Bucket == "" {
					return usageError{"--files-s3-bucket is required with --files-s3-endpoint"}
				}
				key := firstEnv(o.Env, "ASHLAR_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")
				secret := firstEnv(o.Env, "ASHLAR_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")
				cfg.Blobs = &files.S3{Endpoint: *s3Endpoint, Bucket: *s3Bucket, Region: *s3Region, PathStyle: *s3PathStyle,
					AccessKey: key, SecretKey: secret, HTTP: &http.Client{Timeout: 5 * time.Minute}}
			} else if cfg.Blobs, err = files.NewDisk(*dir); err != nil {
				return err
			}
			switch {
			case *scanCmd != "" && *clamd != "":
				return usageError{"use one of --scan-command and --clamd"}
			case *scanCmd != "":
				cfg.Scanner = files.CommandScanner{Command: strings.Fields(*scanCmd)}
			case *clamd != "":
				cfg.Scanner = files.ClamdScanner{Addr: *clamd}
			}
			st, err := files.New(srv.DB, cfg)
			if err != nil {
				return err
			}
			api.UseFiles(srv.Service, st)
			st.Routes(srv.Mux)
			sweepCtx, stop := context.WithCancel(ctx)
			srv.OnShutdown(func(context.Context) error { stop(); return nil })
			go sweepFiles(sweepCtx, srv, st)
			return nil
		},
	})
}

// sweepFiles removes expired uploads and unclaimed files every hour.
func sweepFiles(ctx context.Context, srv *server.Server, st *files.Store) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.Sweep(ctx); err != nil && ctx.Err() == nil {
			srv.Log.Error("sweep files", "error", err)
		} else if n > 0 {
			srv.Log.Info("swept unclaimed files", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func envOr(e *env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
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
