/*
 * test_lance_commit.c
 *	  Unit tests of src/lance/commit.c and versions.c on a real directory:
 *	  atomic exclusive creation, writers racing for the same version (exactly
 *	  one wins, the others get EEXIST, nothing is overwritten), listing
 *	  versions under both naming schemes, temp and detached files ignored,
 *	  mixed schemes refused, and reading back what was committed.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lance/lance_dataset.h"
#include "tap.h"

#define WRITERS 8

static char root[256];

static void
rm_rf(const char *path)
{
	char		cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", path);
}

static int
count_files(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
minimal_manifest(LanceManifest *m, uint64_t version, uint64_t writer)
{
	LanceManifestField f = {0};
	LanceError	err;
	char		tag[32];

	LanceManifestInit(m, NULL);
	f.name = (char *) "id";
	f.parent_id = -1;
	f.logical_type = (char *) "int64";
	LanceManifestAddField(m, &f, &err);
	m->version = version;
	/* the writer's identity goes in the timestamp so we can see who won */
	m->timestamp_seconds = (int64_t) writer;
	snprintf(tag, sizeof(tag), "writer-%llu", (unsigned long long) writer);
	m->writer_library = strdup(tag);
	m->writer_version = strdup("0");
	m->data_format = strdup("lance");
	m->data_format_version = strdup("2.1");
}

typedef struct Racer
{
	const char *dir;
	uint64_t	writer;
	int			rc;
	pthread_barrier_t *barrier;
} Racer;

static void *
race(void *arg)
{
	Racer	   *r = arg;
	LanceManifest m;
	LanceError	err;

	minimal_manifest(&m, 1, r->writer);
	pthread_barrier_wait(r->barrier);
	r->rc = LanceManifestCommit(r->dir, &m, LANCE_NAMING_V2, &err);
	LanceManifestReset(&m);
	return NULL;
}

static void
test_thread_race(void)
{
	char		dir[300];
	pthread_t	th[WRITERS];
	Racer		r[WRITERS];
	pthread_barrier_t barrier;
	int			wins = 0;
	int			conflicts = 0;
	uint64_t	winner = 0;
	LanceManifest m;
	LanceError	err = {{0}};
	int			rc;

	for (int round = 0; round < 20; round++)
	{
		snprintf(dir, sizeof(dir), "%s/race%d.lance", root, round);
		pthread_barrier_init(&barrier, NULL, WRITERS);
		for (int i = 0; i < WRITERS; i++)
		{
			r[i] = (Racer) {dir, (uint64_t) (round * 100 + i + 1), -1, &barrier};
			pthread_create(&th[i], NULL, race, &r[i]);
		}
		for (int i = 0; i < WRITERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&barrier);
		for (int i = 0; i < WRITERS; i++)
		{
			if (r[i].rc == 0)
			{
				wins++;
				winner = r[i].writer;
			}
			else if (r[i].rc == EEXIST)
				conflicts++;
		}
		LanceManifestInit(&m, NULL);
		rc = LanceManifestRead(dir, 1, &m, &err);
		if (rc != 0 || (uint64_t) m.timestamp_seconds != winner)
			wins += 1000;		/* the stored manifest is not the winner's */
		LanceManifestReset(&m);
	}
	tap_ok(wins == 20 && conflicts == 20 * (WRITERS - 1),
		   "20 rounds of %d threads racing for version 1: one winner each, the rest EEXIST (wins %d, conflicts %d)",
		   WRITERS, wins, conflicts);
	snprintf(dir, sizeof(dir), "%s/race0.lance/_versions", root);
	tap_ok(count_files(dir) == 2, "only the manifest and the hint remain, no temp files (%d)",
		   count_files(dir));
}

static void
test_process_race(void)
{
	char		dir[300];
	pid_t		pids[WRITERS];
	int			wins = 0;
	int			conflicts = 0;

	snprintf(dir, sizeof(dir), "%s/procrace.lance", root);
	for (int i = 0; i < WRITERS; i++)
	{
		pids[i] = fork();
		if (pids[i] == 0)
		{
			LanceManifest m;
			LanceError	err;
			int			rc;

			minimal_manifest(&m, 1, (uint64_t) i + 1);
			usleep(1000);
			rc = LanceManifestCommit(dir, &m, LANCE_NAMING_V2, &err);
			LanceManifestReset(&m);
			_exit(rc == 0 ? 0 : rc == EEXIST ? 1 : 2);
		}
	}
	for (int i = 0; i < WRITERS; i++)
	{
		int			status;

		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			wins++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
			conflicts++;
	}
	tap_ok(wins == 1 && conflicts == WRITERS - 1,
		   "%d processes racing: one wins, the others get EEXIST (%d, %d)", WRITERS, wins,
		   conflicts);
}

static void
test_no_overwrite(void)
{
	char		dir[300];
	char		vdir[320];
	uint8_t		a[] = "first";
	uint8_t		b[] = "second";
	LanceError	err = {{0}};
	FILE	   *f;
	char		buf[16] = "";
	int			rc;

	snprintf(dir, sizeof(dir), "%s/plainfiles", root);
	mkdir(dir, 0755);
	rc = LanceFileCreateAtomic(dir, "x.bin", a, 5, &err);
	tap_ok(rc == 0, "create a file atomically (%s)", err.message);
	rc = LanceFileCreateAtomic(dir, "x.bin", b, 6, &err);
	tap_ok(rc == EEXIST, "creating it again: EEXIST (%s)", err.message);
	snprintf(vdir, sizeof(vdir), "%s/x.bin", dir);
	f = fopen(vdir, "r");
	if (f != NULL)
	{
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	tap_ok(strcmp(buf, "first") == 0, "the first contents are untouched");
	tap_ok(count_files(dir) == 1, "no temp file left behind");
	rc = LanceFileCreateAtomic("/nonexistent/dir", "x", a, 5, &err);
	tap_ok(rc == ENOENT, "a missing directory: ENOENT (%s)", err.message);
}

static void
test_listing(void)
{
	char		dir[300];
	char		path[1024];
	LanceVersionList list;
	LanceManifest m;
	LanceError	err = {{0}};
	FILE	   *f;
	int			rc;

	snprintf(dir, sizeof(dir), "%s/list.lance", root);
	rc = LanceVersionListRead(dir, &list, NULL, &err);
	tap_ok(rc == 0 && list.count == 0 && list.naming == LANCE_NAMING_NONE,
		   "a directory without _versions/ has no versions");
	LanceVersionListReset(&list);
	LanceManifestInit(&m, NULL);
	tap_ok(LanceManifestRead(dir, 0, &m, &err) == ENOENT, "and no manifest: ENOENT (%s)",
		   err.message);

	for (uint64_t v = 1; v <= 3; v++)
	{
		minimal_manifest(&m, v, v);
		rc = LanceManifestCommit(dir, &m, LANCE_NAMING_V1, &err);
		LanceManifestReset(&m);
		if (rc != 0)
			break;
	}
	/* junk a reader must skip */
	snprintf(path, sizeof(path), "%s/_versions/d9.manifest", dir);
	f = fopen(path, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/_versions/.4.manifest.123.tmp", dir);
	f = fopen(path, "w");
	fclose(f);
	rc = LanceVersionListRead(dir, &list, NULL, &err);
	tap_ok(rc == 0 && list.count == 3 && list.versions[0] == 1 && list.versions[2] == 3 &&
		   list.naming == LANCE_NAMING_V1,
		   "V1 versions 1..3 listed in order, detached and temp files skipped");
	LanceVersionListReset(&list);
	snprintf(path, sizeof(path), "%s/_versions/3.manifest", dir);
	tap_ok(access(path, F_OK) == 0, "V1 naming kept: 3.manifest");
	rc = LanceManifestRead(dir, 0, &m, &err);
	tap_ok(rc == 0 && m.version == 3, "latest is version 3");
	LanceManifestReset(&m);
	rc = LanceManifestRead(dir, 2, &m, &err);
	tap_ok(rc == 0 && m.version == 2 && m.timestamp_seconds == 2, "time travel to version 2");
	LanceManifestReset(&m);
	tap_ok(LanceManifestRead(dir, 7, &m, &err) == ENOENT, "version 7: ENOENT (%s)", err.message);
	snprintf(path, sizeof(path), "%s/_versions/latest_version_hint.json", dir);
	f = fopen(path, "r");
	{
		char		hint[64] = "";

		if (f != NULL)
		{
			if (fgets(hint, sizeof(hint), f) == NULL)
				hint[0] = '\0';
			fclose(f);
		}
		tap_ok(strcmp(hint, "{\"version\":3}") == 0, "hint file says %s", hint);
	}

	/* a V2 name in a V1 directory is corrupt */
	minimal_manifest(&m, 4, 4);
	rc = LanceManifestCommit(dir, &m, LANCE_NAMING_V2, &err);
	LanceManifestReset(&m);
	rc = LanceVersionListRead(dir, &list, NULL, &err);
	tap_ok(rc == EINVAL, "mixed V1 and V2 names: EINVAL (%s)", err.message);
	LanceVersionListReset(&list);

	/* a manifest whose version disagrees with its name */
	snprintf(dir, sizeof(dir), "%s/lying.lance", root);
	minimal_manifest(&m, 5, 5);
	rc = LanceManifestCommit(dir, &m, LANCE_NAMING_V2, &err);
	LanceManifestReset(&m);
	snprintf(path, sizeof(path), "mv %s/_versions/18446744073709551610.manifest "
			 "%s/_versions/18446744073709551614.manifest", dir, dir);
	rc = system(path);
	rc = LanceManifestRead(dir, 0, &m, &err);
	tap_ok(rc == EINVAL, "a manifest under another version's name: EINVAL (%s)", err.message);
	LanceManifestReset(&m);
}

int
main(void)
{
	snprintf(root, sizeof(root), "/tmp/lance_commit_XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		tap_ok(false, "mkdtemp");
		return tap_done();
	}
	test_no_overwrite();
	test_thread_race();
	test_process_race();
	test_listing();
	rm_rf(root);
	return tap_done();
}
