//! Space and inodes of each real filesystem: mounts from
//! `<proc_root>/self/mounts`, sizes from `statvfs(2)` on the mount point.

use std::borrow::Cow;
use std::ffi::CString;

use lxmon_proto::{MAX_LABEL_VALUE_LEN, Sample};

use super::{CollectError, Collector, Ctx, Output, percent, read_into};

/// Filesystem types that hold no user data: kernel interfaces, memory-backed
/// and layered filesystems whose space belongs to another mount.
const PSEUDO_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "fuse.snapfuse",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nfsd",
    "nsfs",
    "overlay",
    "aufs",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Network filesystems are skipped too: `statvfs` on a mount whose server is
/// gone blocks in the kernel (uninterruptibly, for hard NFS mounts), which
/// would stall every later collection. Their capacity is the server's to
/// report.
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "ceph",
    "glusterfs",
    "fuse.glusterfs",
    "fuse.sshfs",
    "fuse.s3fs",
    "fuse.rclone",
    "afs",
    "lustre",
];

/// True for filesystem types the agent does not report.
pub fn is_skipped_fstype(fstype: &str) -> bool {
    fstype.starts_with("cgroup") || PSEUDO_FS.contains(&fstype) || NETWORK_FS.contains(&fstype)
}

/// One mount worth measuring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fstype: String,
}

/// Parses a mounts table (`/proc/self/mounts` format), keeping real
/// filesystems only, each once:
///
/// - a mount hidden by a later mount on the same path is left out
///   (`statvfs` on the path would measure the one on top);
/// - each device is kept once, at its first visible mount (bind mounts and
///   btrfs subvolumes of it report the same space).
///
/// So no mount point appears twice: the server refuses a report with a
/// duplicate series.
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    let table: Vec<(&str, Cow<'_, str>, &str)> = text
        .lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let (device, mount_point, fstype) = (f.next()?, f.next()?, f.next()?);
            Some((device, unescape_octal(mount_point), fstype))
        })
        .collect();
    let mut mounts: Vec<Mount> = Vec::new();
    for (i, (device, mount_point, fstype)) in table.iter().enumerate() {
        let hidden = table[i + 1..]
            .iter()
            .any(|(_, later, _)| later == mount_point);
        if hidden || is_skipped_fstype(fstype) || mounts.iter().any(|m| m.device == *device) {
            continue;
        }
        // The mount point becomes a label value, which the server refuses
        // with control characters or beyond its length limit; better to skip
        // one odd mount than to have the whole report refused.
        if mount_point.len() > MAX_LABEL_VALUE_LEN || mount_point.chars().any(char::is_control) {
            continue;
        }
        mounts.push(Mount {
            device: (*device).to_owned(),
            mount_point: mount_point.clone().into_owned(),
            fstype: (*fstype).to_owned(),
        });
    }
    mounts
}

/// The kernel escapes space, tab, newline and backslash in mount paths as
/// `\ooo` octal.
fn unescape_octal(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Space and inodes of one filesystem, from `statvfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    pub total_bytes: u64,
    /// Blocks in use (total − free, reserved blocks count as free here, as
    /// `df` does).
    pub used_bytes: u64,
    /// Space available to unprivileged users.
    pub avail_bytes: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
}

/// `statvfs(2)` on a path.
pub fn statvfs(path: &str) -> std::io::Result<FsUsage> {
    let c_path =
        CString::new(path).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs only writes into the struct we pass, and c_path is a
    // valid NUL-terminated string for the duration of the call.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c_path.as_ptr(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        st
    };
    let frsize = st.f_frsize as u64;
    let blocks = st.f_blocks as u64;
    let bfree = st.f_bfree as u64;
    Ok(FsUsage {
        total_bytes: blocks * frsize,
        used_bytes: blocks.saturating_sub(bfree) * frsize,
        avail_bytes: st.f_bavail as u64 * frsize,
        inodes_total: st.f_files as u64,
        inodes_free: st.f_ffree as u64,
    })
}

/// Pushes the `fs.*` series of one mount.
pub fn push_samples(mount: &str, u: &FsUsage, out: &mut Vec<Sample>) {
    let s = |name: &str, v: u64| Sample::new(name, v as f64).with_label("mount", mount);
    out.push(s("fs.total_bytes", u.total_bytes));
    out.push(s("fs.used_bytes", u.used_bytes));
    out.push(s("fs.free_bytes", u.avail_bytes));
    out.push(
        Sample::new(
            "fs.used_percent",
            percent(u.used_bytes as f64, (u.used_bytes + u.avail_bytes) as f64),
        )
        .with_label("mount", mount),
    );
    // btrfs and some others have no fixed inode table and report 0.
    if u.inodes_total > 0 {
        out.push(s("fs.inodes_total", u.inodes_total));
        out.push(s(
            "fs.inodes_used",
            u.inodes_total.saturating_sub(u.inodes_free),
        ));
        out.push(s("fs.inodes_free", u.inodes_free));
    }
}

/// `fs.*` series, one set per real mount.
pub struct FilesystemCollector {
    buf: String,
}

impl FilesystemCollector {
    pub fn new() -> FilesystemCollector {
        FilesystemCollector {
            buf: String::with_capacity(4096),
        }
    }
}

impl Default for FilesystemCollector {
    fn default() -> Self {
        FilesystemCollector::new()
    }
}

impl Collector for FilesystemCollector {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        read_into(&ctx.proc_root.join("self/mounts"), &mut self.buf)?;
        for mount in parse_mounts(&self.buf) {
            match statvfs(&mount.mount_point) {
                // A zero-sized filesystem is a pseudo one we did not list.
                Ok(u) if u.total_bytes > 0 => {
                    push_samples(&mount.mount_point, &u, &mut out.samples)
                }
                Ok(_) => {}
                // Not fatal for the others: a mount can vanish between reading
                // the table and statvfs, or be unreadable to this user.
                Err(e) => {
                    tracing::debug!(mount = %mount.mount_point, error = %e, "statvfs failed; mount skipped")
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{fixtures, value};

    #[test]
    fn parses_mounts_fixture_keeping_real_filesystems_once() {
        let text = std::fs::read_to_string(fixtures().join("host1/t0/proc/self/mounts")).unwrap();
        let mounts = parse_mounts(&text);
        let points: Vec<&str> = mounts.iter().map(|m| m.mount_point.as_str()).collect();
        // /home is a btrfs subvolume of the root device and /srv/www a
        // second mount of the LVM volume: both deduplicated; tmpfs, cgroup2,
        // overlay, nfs4, autofs and squashfs (a snap) are skipped.
        assert_eq!(
            points,
            vec!["/", "/boot", "/boot/efi", "/data", "/mnt/backup disk"]
        );
        assert_eq!(mounts[0].device, "/dev/nvme0n1p2");
        assert_eq!(mounts[0].fstype, "btrfs");
        assert_eq!(mounts[3].fstype, "xfs");
    }

    #[test]
    fn over_mounted_paths_appear_once_with_the_visible_mount() {
        let text = "/dev/sda1 / ext4 rw 0 0\n\
                    /dev/sdb1 /mnt ext4 rw 0 0\n\
                    /dev/sdc1 /mnt xfs rw 0 0\n\
                    /dev/sdd1 /data ext4 rw 0 0\n\
                    tmpfs /data tmpfs rw 0 0\n";
        let mounts = parse_mounts(text);
        let got: Vec<(&str, &str)> = mounts
            .iter()
            .map(|m| (m.device.as_str(), m.mount_point.as_str()))
            .collect();
        // sdb1 is hidden under sdc1; sdd1 is hidden under a tmpfs, whose
        // own numbers are not reported.
        assert_eq!(got, vec![("/dev/sda1", "/"), ("/dev/sdc1", "/mnt")]);
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape_octal("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_octal("/mnt/tab\\011x"), "/mnt/tab\tx");
        assert_eq!(unescape_octal("/plain"), "/plain");
        assert_eq!(unescape_octal("/trailing\\"), "/trailing\\");
    }

    #[test]
    fn mounts_with_control_characters_are_skipped() {
        let text = "/dev/sda1 / ext4 rw 0 0\n/dev/sdc1 /mnt/new\\012line ext4 rw 0 0\n";
        let mounts = parse_mounts(text);
        assert_eq!(mounts.len(), 1);
    }

    #[test]
    fn samples_follow_df_arithmetic() {
        let u = FsUsage {
            total_bytes: 1000,
            used_bytes: 600,
            avail_bytes: 300,
            inodes_total: 0,
            inodes_free: 0,
        };
        let mut out = Vec::new();
        push_samples("/", &u, &mut out);
        assert_eq!(
            value(&out, "fs.used_percent", Some(("mount", "/"))),
            Some(66.67)
        );
        assert_eq!(
            value(&out, "fs.free_bytes", Some(("mount", "/"))),
            Some(300.0)
        );
        assert!(out.iter().all(|s| !s.name.starts_with("fs.inodes")));
    }

    #[test]
    fn statvfs_of_the_real_root() {
        let u = statvfs("/").unwrap();
        assert!(u.total_bytes > 0);
        assert!(u.used_bytes <= u.total_bytes);
        assert!(statvfs("/definitely/not/here").is_err());
    }

    #[test]
    fn collects_the_real_host() {
        let mut c = FilesystemCollector::new();
        let mut out = Output::default();
        c.collect(&Ctx::host(), &mut out).unwrap();
        assert!(out.samples.iter().all(|s| s.value >= 0.0));
        assert!(out.samples.iter().all(|s| s.labels.contains_key("mount")));
    }
}
