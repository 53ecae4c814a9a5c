/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mutexes for the module: OS (pthreads) locking, or the application's mutex callbacks. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "pkcs11/module.h"

/*
 * PKCS#11 2.40 §5.4 (C_Initialize): with CKF_OS_LOCKING_OK the library may use the OS
 * primitives; with the four callbacks and without the flag it must use the callbacks; with
 * neither it may assume single-threaded use (we still lock: it costs nothing measurable).
 */
static struct {
	CK_CREATEMUTEX create;
	CK_DESTROYMUTEX destroy;
	CK_LOCKMUTEX lock;
	CK_UNLOCKMUTEX unlock;
	bool use_app;
} lock_mode;

struct mod_mutex {
	pthread_mutex_t os;
	void *app;
};

void
lock_configure(const CK_C_INITIALIZE_ARGS *args)
{
	lock_mode.use_app = false;
	if (args && args->CreateMutex && !(args->flags & CKF_OS_LOCKING_OK)) {
		lock_mode.create = args->CreateMutex;
		lock_mode.destroy = args->DestroyMutex;
		lock_mode.lock = args->LockMutex;
		lock_mode.unlock = args->UnlockMutex;
		lock_mode.use_app = true;
	}
}

CK_RV
lock_new(struct mod_mutex **out)
{
	struct mod_mutex *m = calloc(1, sizeof(*m));

	if (!m)
		return CKR_HOST_MEMORY;
	if (lock_mode.use_app) {
		CK_RV rv = lock_mode.create(&m->app);

		if (rv != CKR_OK) {
			log_error("application CreateMutex failed: %s", ckr_name(rv));
			free(m);
			return rv == CKR_HOST_MEMORY ? rv : CKR_CANT_LOCK;
		}
	} else if (pthread_mutex_init(&m->os, NULL) != 0) {
		free(m);
		return CKR_CANT_LOCK;
	}
	*out = m;
	return CKR_OK;
}

void
lock_free(struct mod_mutex *m)
{
	if (!m)
		return;
	if (m->app)
		lock_mode.destroy(m->app);
	else
		pthread_mutex_destroy(&m->os);
	free(m);
}

void
lock_take(struct mod_mutex *m)
{
	if (m->app)
		lock_mode.lock(m->app);
	else
		pthread_mutex_lock(&m->os);
}

void
lock_release(struct mod_mutex *m)
{
	if (m->app)
		lock_mode.unlock(m->app);
	else
		pthread_mutex_unlock(&m->os);
}
