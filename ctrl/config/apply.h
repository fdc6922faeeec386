/* SPDX-License-Identifier: MIT */
/*
 * Between the model (ctrl/model.h) and the running device: apply a parsed
 * configuration or UAPI `set`, and take a snapshot for UAPI `get`.
 */
#ifndef WGUD_APPLY_H
#define WGUD_APPLY_H

#include "device.h"
#include "loop.h"
#include "model.h"

enum apply_mode {
	APPLY_UAPI, /* wg's semantics: replace_peers removes every peer first */
	APPLY_SYNC, /* a re-read conf: peers not listed go, listed peers keep their sessions */
};

/* 0 or -errno; the model was validated by its parser, so errors here are resources (-ENOMEM, -EADDRINUSE, ...). */
int apply_model(struct wg_device *dev, struct loop *loop, const struct model_device *m, enum apply_mode mode);
/* A model of the device as it is now, for uapi_format_get(); caller frees. */
int apply_snapshot(struct wg_device *dev, struct model_device **out);

#endif
