/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The GPU device's one display mode: its size limits and the EDID that
 * describes it, so a guest that reads the EDID picks the size that
 * GET_DISPLAY_INFO reports.
 */
#ifndef VV_DISPLAY_EDID_H
#define VV_DISPLAY_EDID_H

#include <stdbool.h>
#include <stdint.h>

#define VV_DISPLAY_DEFAULT_WIDTH 1024
#define VV_DISPLAY_DEFAULT_HEIGHT 768
/* EDID holds 12-bit sizes; 4K UHD is the largest; widths even (4:2:0 frames). */
#define VV_DISPLAY_MIN_WIDTH 320
#define VV_DISPLAY_MIN_HEIGHT 200
#define VV_DISPLAY_MAX_WIDTH 3840
#define VV_DISPLAY_MAX_HEIGHT 2160

/* Whether WIDTHxHEIGHT can be the display mode (an even width). */
bool vv_display_size_valid(uint32_t width, uint32_t height);
/*
 * Parses "WIDTHxHEIGHT" into a valid display size; false (and nothing
 * written) for anything else.
 */
bool vv_display_size_parse(const char *text, uint32_t *width, uint32_t *height);
/*
 * A 128-byte EDID 1.4 base block whose preferred (first detailed) timing is
 * WIDTHxHEIGHT at 60 Hz: the VESA DMT timing for 1024x768, CVT reduced
 * blanking for any other size. The size must be valid.
 */
void vv_display_edid(uint8_t edid[128], uint32_t width, uint32_t height);

#endif
