package node

import (
	"time"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/rs/zerolog"
)

// Config is a node's configuration. Every field has a yaml key, an
// EMERGE_<KEY> environment variable and a --<key> flag (underscores become
// dashes); conf/emerge.yaml documents them all. A zero value means the
// default.
type Config struct {
	Listen      string         `yaml:"listen" doc:"rpc endpoint the node binds (ZeroMQ ROUTER), tcp://host:port or host:port; port * picks a free one"`
	DataDir     string         `yaml:"data_dir" doc:"directory of the Badger store and the node's id"`
	BlockSize   units.ByteSize `yaml:"block_size" doc:"default block size of a put, 64KiB..64MiB"`
	Replicas    int            `yaml:"replicas" doc:"target number of durable copies of each block; repair restores it after a loss"`
	MinReplicas int            `yaml:"min_replicas" doc:"durable copies a put waits for before it returns (at most replicas); the rest are made by repair"`
	SyncWrites  bool           `yaml:"sync_writes" doc:"fsync every commit: survives power loss, costs ~0.4 ms per put; without it a put survives a process crash"`
	UploadIdle  time.Duration  `yaml:"upload_idle" doc:"a streamed upload that receives nothing for this long is aborted and its blocks dropped"`
	MaxInflight int            `yaml:"max_inflight" doc:"requests served concurrently; more are answered 'unavailable'"`
	HostID      string         `yaml:"host_id" doc:"identifies this machine to local clients (shared memory); default derived from /etc/machine-id and the hostname"`
	ShmDir      string         `yaml:"shm_dir" doc:"directory (a tmpfs) of the shared-memory hot copies local clients map; default /dev/shm/emerge-<node id>"`
	ShmBytes    units.ByteSize `yaml:"shm_bytes" doc:"capacity of the shared-memory hot copies and local uploads; 0: a quarter of the smaller of RAM and the tmpfs"`
	ShmOff      bool           `yaml:"shm_off" doc:"no shared memory: local clients stream like remote ones"`

	PubListen     string        `yaml:"pub_listen" doc:"broadcast endpoint the node binds (ZeroMQ PUB), tcp://host:port or host:port; empty: the port after listen's (port * stays *)"`
	HTTPListen    string        `yaml:"http_listen" doc:"HTTP endpoint (metrics, health checks, objects by ref), host:port; empty: listen's host (127.0.0.1 when listen binds every interface) on the port two after listen's (port * stays *: a free one)"`
	HTTPOff       bool          `yaml:"http_off" doc:"no HTTP endpoint: no metrics, health checks or HTTP access to objects"`
	S3AccessKey   string        `yaml:"s3_access_key" doc:"with s3_secret_key: serve the S3-compatible interface on http_listen to requests signed (SigV4) with this key; empty: no S3"`
	S3SecretKey   string        `yaml:"s3_secret_key" doc:"the secret of s3_access_key (prefer EMERGE_S3_SECRET_KEY or a file readable by the node's user only)"`
	AdvertiseHost string        `yaml:"advertise_host" doc:"host other members use to reach this node's rpc and pub endpoints; default: the bound host, or the hostname when bound to all interfaces"`
	Peers         []string      `yaml:"peers" doc:"rpc endpoints (tcp://host:port or host:port) of members to join through, comma-separated in env and flags; empty: start alone, or rejoin the members remembered in the data dir"`
	Groups        []string      `yaml:"groups" doc:"groups this node belongs to (comma-separated in env and flags), e.g. actor"`
	Heartbeat     time.Duration `yaml:"heartbeat" doc:"period of the heartbeat each member broadcasts"`
	SuspectAfter  time.Duration `yaml:"suspect_after" doc:"a member not heard for this long is suspect (still used, tried last)"`
	DeadAfter     time.Duration `yaml:"dead_after" doc:"a member not heard for this long is dead (its departure is reported)"`
	LocateTimeout time.Duration `yaml:"locate_timeout" doc:"how long a get looks for the owners of missing blocks before answering not_found"`
	FetchWindow   int           `yaml:"fetch_window" doc:"block requests kept in flight to each owner during a fetch"`

	NamesSyncInterval time.Duration `yaml:"names_sync_interval" doc:"period of the namespace's anti-entropy: compare bucket digests with a random live member and pull what differs (broadcasts can be lost); negative disables"`
	NamesKeepVersions int           `yaml:"names_keep_versions" doc:"versions of a name kept by a bind that does not say (put --keep): older ones are erased and their objects deleted when no other name uses them; 0 keeps all"`
	NamesKeepFor      time.Duration `yaml:"names_keep_for" doc:"age limit of a name's versions for a bind that does not say (put --keep-for): versions created longer than this before the new one are erased, like those beyond names_keep_versions; 0: no limit"`
	NamesFreeGrace    time.Duration `yaml:"names_free_grace" doc:"how long an object no version names any more (erased, expired) waits before it is deleted, so gets and prefetches already reading it finish; negative deletes at once"`

	RepairDelay      time.Duration  `yaml:"repair_delay" doc:"how long a member must be gone before its copies are made again elsewhere; one back sooner costs no repair"`
	RepairInterval   time.Duration  `yaml:"repair_interval" doc:"period of the repair pass when nothing triggers one sooner"`
	RepairStreams    int            `yaml:"repair_streams" doc:"copies this node pushes at once for repair"`
	RepairRate       units.ByteSize `yaml:"repair_rate" doc:"bytes per second this node pushes for repair, at most"`
	RepairMaxDeadPct int            `yaml:"repair_max_dead_percent" doc:"when more than this percentage of the members is gone at once, repair waits (a partition, not a loss)"`
	RepairOff        bool           `yaml:"repair_off" doc:"no repair passes: blocks under target stay so"`
	ScrubInterval    time.Duration  `yaml:"scrub_interval" doc:"a full scrub pass (re-hash every stored block) takes about this long; negative disables"`
	ScrubRate        units.ByteSize `yaml:"scrub_rate" doc:"bytes per second the scrub re-hashes, at most"`

	ValueLogFileSize units.ByteSize `yaml:"value_log_file_size" doc:"Badger value-log file size; smaller files let deleted blocks be reclaimed sooner"`
	MemTableSize     units.ByteSize `yaml:"memtable_size" doc:"Badger memtable size"`
	BlockCacheSize   units.ByteSize `yaml:"block_cache_size" doc:"Badger block cache size"`
	GCInterval       time.Duration  `yaml:"gc_interval" doc:"period of value-log GC and the orphan-block sweep; negative disables (a disk short of space is still reclaimed at once)"`
	CacheMaxBytes    units.ByteSize `yaml:"cache_max_bytes" doc:"bytes of cached copies (objects a get fetched to a node that does not own them) past which the least recently read are evicted; 0: no cap, only cache_min_free"`
	CacheMinFree     units.ByteSize `yaml:"cache_min_free" doc:"disk watermark of the cache: while the disk's free space beyond the store's reserve is below this, cached copies are evicted, least recently read first (owner copies never); 0: value_log_file_size"`
	CacheOff         bool           `yaml:"cache_off" doc:"a get of an object this node does not hold streams the fetched blocks to its reader without keeping a cached copy on disk: about half the CPU of such a get, but the next get fetches again (a hot copy in shared memory, when made, still serves local clients)"`

	SecurityClusterSecretFile string   `yaml:"security.cluster_secret_file" doc:"file holding the cluster secret (at least 16 bytes; emerge keygen --secret makes one): every socket then runs CURVE with keys derived from it, and peers and clients without the secret are refused; empty: plaintext"`
	SecurityKeyFile           string   `yaml:"security.key_file" doc:"this node's own keypair (emerge keygen): its key towards its peers instead of the one derived from the secret"`
	SecurityAllow             []string `yaml:"security.allow" doc:"public keys (Z85) of the nodes and clients let in (comma-separated in env and flags); when set, only listed keys are, the secret alone no longer admits"`
	SecurityAllowFile         string   `yaml:"security.allow_file" doc:"file of public keys let in, one a line (# comments), added to security.allow and re-read when it changes: delete a line to revoke a key"`
	Insecure                  bool     `yaml:"insecure" doc:"without a cluster secret, bind addresses other machines can reach anyway: plaintext on the network, anyone reaching the ports can read, write and delete every object"`

	LogLevel  string `yaml:"log_level" doc:"debug, info, warn or error"`
	LogFormat string `yaml:"log_format" doc:"auto (console on a terminal, JSON otherwise), console or json"`

	// Logger receives the node's logs; the CLI builds it from LogLevel and
	// LogFormat. Default: silent.
	Logger zerolog.Logger `yaml:"-"`
	// Bus, when set, makes the node's broadcast bus instead of a ZeroMQ one
	// (tests use an in-memory hub that drops messages). Default: ZeroMQ.
	Bus func(nodeID string) (pubsub.Bus, error) `yaml:"-"`
}

// DefaultConfig returns the defaults: one node on loopback (rpc on port
// 7700, broadcast on 7701, the port after listen's), data under
// ./emerge-data.
func DefaultConfig() Config {
	return Config{
		Listen:           "tcp://127.0.0.1:7700",
		DataDir:          "./emerge-data",
		BlockSize:        1 << 20,
		Replicas:         2,
		MinReplicas:      1,
		UploadIdle:       2 * time.Minute,
		MaxInflight:      512,
		ValueLogFileSize: 256 << 20,
		MemTableSize:     32 << 20,
		BlockCacheSize:   32 << 20,
		GCInterval:       5 * time.Minute,
		Heartbeat:        time.Second,
		SuspectAfter:     3 * time.Second,
		DeadAfter:        10 * time.Second,
		LocateTimeout:    10 * time.Second,
		FetchWindow:      8,
		RepairDelay:      5 * time.Minute,
		RepairInterval:   10 * time.Minute,
		RepairStreams:    4,
		RepairRate:       64 << 20,
		RepairMaxDeadPct: 50,
		ScrubInterval:    7 * 24 * time.Hour,
		ScrubRate:        32 << 20,
		LogLevel:         "info",
		LogFormat:        "auto",
		Logger:           zerolog.Nop(),

		NamesSyncInterval: 30 * time.Second,
		NamesFreeGrace:    time.Minute,
	}
}
