/*
 * fault_vfs: a shim SQLite VFS over the default one ("unix"). Every call is
 * passed through, except that xWrite consults FAULT_DB_WRITE: "full" answers
 * SQLITE_FULL, "fail" SQLITE_IOERR_WRITE, "short" writes the first half and
 * then answers SQLITE_FULL, as the unix VFS does when ENOSPC cuts a write
 * short. So a full disk is simulated for the database without filling one.
 */
#include "fault.h"

#include <sqlite3.h>
#include <string.h>

struct fault_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

static sqlite3_vfs shim;
#define REAL_VFS ((sqlite3_vfs *)shim.pAppData)
#define REAL(file) (((struct fault_file *)(file))->real)

/* ---- the file ---- */

static int f_close(sqlite3_file *file) { return REAL(file)->pMethods->xClose(REAL(file)); }
static int f_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	return REAL(file)->pMethods->xRead(REAL(file), buf, amt, off);
}

static int f_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *real = REAL(file);
	switch (fault_check(FAULT_DB_WRITE)) {
	case FAULT_NONE:
		return real->pMethods->xWrite(real, buf, amt, off);
	case FAULT_FULL:
		return SQLITE_FULL;
	case FAULT_SHORT:
		if (amt > 1)
			real->pMethods->xWrite(real, buf, amt / 2, off);
		return SQLITE_FULL;
	case FAULT_FAIL:
	default:
		return SQLITE_IOERR_WRITE;
	}
}

static int f_truncate(sqlite3_file *file, sqlite3_int64 size) { return REAL(file)->pMethods->xTruncate(REAL(file), size); }
static int f_sync(sqlite3_file *file, int flags) { return REAL(file)->pMethods->xSync(REAL(file), flags); }
static int f_size(sqlite3_file *file, sqlite3_int64 *size) { return REAL(file)->pMethods->xFileSize(REAL(file), size); }
static int f_lock(sqlite3_file *file, int lock) { return REAL(file)->pMethods->xLock(REAL(file), lock); }
static int f_unlock(sqlite3_file *file, int lock) { return REAL(file)->pMethods->xUnlock(REAL(file), lock); }
static int f_check_lock(sqlite3_file *file, int *out) { return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out); }
static int f_control(sqlite3_file *file, int op, void *arg) { return REAL(file)->pMethods->xFileControl(REAL(file), op, arg); }
static int f_sector(sqlite3_file *file) { return REAL(file)->pMethods->xSectorSize(REAL(file)); }
static int f_caps(sqlite3_file *file) { return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file)); }
static int f_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
	return REAL(file)->pMethods->xShmMap(REAL(file), region, size, extend, out);
}
static int f_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}
static void f_shm_barrier(sqlite3_file *file) { REAL(file)->pMethods->xShmBarrier(REAL(file)); }
static int f_shm_unmap(sqlite3_file *file, int del) { return REAL(file)->pMethods->xShmUnmap(REAL(file), del); }
static int f_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **out)
{
	return REAL(file)->pMethods->xFetch(REAL(file), off, amt, out);
}
static int f_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p) { return REAL(file)->pMethods->xUnfetch(REAL(file), off, p); }

static const sqlite3_io_methods io_v3 = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_check_lock,
	f_control, f_sector, f_caps, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch,
};
/* The same table cut at the real file's version, so SQLite never calls what is missing. */
static sqlite3_io_methods io_v1, io_v2;

/* ---- the VFS: open wraps, the rest passes through ---- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	(void)vfs;
	struct fault_file *ff = (struct fault_file *)file;
	ff->real = (sqlite3_file *)(ff + 1);
	int rc = REAL_VFS->xOpen(REAL_VFS, name, ff->real, flags, out_flags);
	if (ff->real->pMethods) {
		int v = ff->real->pMethods->iVersion;
		ff->base.pMethods = v >= 3 ? &io_v3 : v == 2 ? &io_v2 : &io_v1;
	} else {
		ff->base.pMethods = NULL;
	}
	return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	(void)vfs;
	return REAL_VFS->xDelete(REAL_VFS, name, sync);
}
static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return REAL_VFS->xAccess(REAL_VFS, name, flags, out);
}
static int v_full(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return REAL_VFS->xFullPathname(REAL_VFS, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return REAL_VFS->xDlOpen(REAL_VFS, name);
}
static void v_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	REAL_VFS->xDlError(REAL_VFS, n, out);
}
static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return REAL_VFS->xDlSym(REAL_VFS, h, sym);
}
static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	REAL_VFS->xDlClose(REAL_VFS, h);
}
static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return REAL_VFS->xRandomness(REAL_VFS, n, out);
}
static int v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return REAL_VFS->xSleep(REAL_VFS, us);
}
static int v_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return REAL_VFS->xCurrentTime(REAL_VFS, out);
}
static int v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return REAL_VFS->xGetLastError ? REAL_VFS->xGetLastError(REAL_VFS, n, out) : 0;
}
static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return REAL_VFS->xCurrentTimeInt64(REAL_VFS, out);
}

int fault_vfs_register(int make_default)
{
	if (shim.zName) /* registered already: only the default may change */
		return sqlite3_vfs_register(&shim, make_default);
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);
	if (!real)
		return SQLITE_ERROR;
	io_v1 = io_v2 = io_v3;
	io_v1.iVersion = 1;
	io_v2.iVersion = 2;
	shim = (sqlite3_vfs){
		.iVersion = 2, /* no xSetSystemCall: nothing here swaps system calls */
		.szOsFile = (int)sizeof(struct fault_file) + real->szOsFile,
		.mxPathname = real->mxPathname,
		.zName = "fpmon-fault",
		.pAppData = real,
		.xOpen = v_open, .xDelete = v_delete, .xAccess = v_access, .xFullPathname = v_full,
		.xDlOpen = v_dlopen, .xDlError = v_dlerror, .xDlSym = v_dlsym, .xDlClose = v_dlclose,
		.xRandomness = v_random, .xSleep = v_sleep, .xCurrentTime = v_time,
		.xGetLastError = v_lasterr, .xCurrentTimeInt64 = v_time64,
	};
	return sqlite3_vfs_register(&shim, make_default);
}
