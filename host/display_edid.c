// SPDX-License-Identifier: GPL-2.0-or-later
/* The GPU device's display mode and its EDID (see display_edid.h). */
#include "display_edid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool vv_display_size_valid(uint32_t width, uint32_t height)
{
	return width >= VV_DISPLAY_MIN_WIDTH && width <= VV_DISPLAY_MAX_WIDTH && !(width % 2) &&
	       height >= VV_DISPLAY_MIN_HEIGHT && height <= VV_DISPLAY_MAX_HEIGHT;
}

bool vv_display_size_parse(const char *text, uint32_t *width, uint32_t *height)
{
	unsigned long w, h;
	char *end;

	if (!text || *text < '0' || *text > '9')
		return false;
	errno = 0;
	w = strtoul(text, &end, 10);
	if (errno || *end != 'x' || end[1] < '0' || end[1] > '9')
		return false;
	h = strtoul(end + 1, &end, 10);
	if (errno || *end || w > UINT32_MAX || h > UINT32_MAX ||
	    !vv_display_size_valid((uint32_t)w, (uint32_t)h))
		return false;
	*width = (uint32_t)w;
	*height = (uint32_t)h;
	return true;
}

struct timing {
	uint32_t clock_khz;
	uint32_t h_active, h_blank, h_front, h_sync;
	uint32_t v_active, v_blank, v_front, v_sync;
	bool h_positive, v_positive;
};

/*
 * CVT 1.2 reduced blanking (v1) at 60 Hz: fixed 160-pixel horizontal
 * blanking, at least 460 us of vertical blanking, a 0.25 MHz clock step.
 * Integer arithmetic in nanoseconds; the field rate is exact enough for a
 * virtual display that never scans anything out.
 */
static void cvt_reduced_blanking(uint32_t width, uint32_t height, struct timing *t)
{
	const uint64_t field_ns = 1000000000ull / 60, min_vblank_ns = 460000;
	uint32_t v_sync, vbi, min_vbi;
	uint64_t line_ns, clock;

	/* The vertical sync width names the aspect ratio (CVT table 3-1). */
	if (height * 4 == width * 3)
		v_sync = 4;
	else if (height * 16 == width * 9)
		v_sync = 5;
	else if (height * 16 == width * 10)
		v_sync = 6;
	else if (height * 5 == width * 4 || height * 15 == width * 9)
		v_sync = 7;
	else
		v_sync = 10;
	line_ns = (field_ns - min_vblank_ns) / height;
	vbi = (uint32_t)(min_vblank_ns / line_ns) + 1;
	min_vbi = 3 + v_sync + 6;	/* front porch, sync, minimum back porch */
	if (vbi < min_vbi)
		vbi = min_vbi;
	clock = 60ull * (height + vbi) * (width + 160);	/* Hz */
	clock = clock / 250000 * 250;			/* kHz, in 0.25 MHz steps */
	*t = (struct timing){
		.clock_khz = (uint32_t)clock,
		.h_active = width, .h_blank = 160, .h_front = 48, .h_sync = 32,
		.v_active = height, .v_blank = vbi, .v_front = 3, .v_sync = v_sync,
		.h_positive = true, .v_positive = false,
	};
}

/* An 18-byte detailed timing descriptor; image size at 96 dpi. */
static void put_detailed_timing(uint8_t d[18], const struct timing *t)
{
	uint32_t clock = t->clock_khz / 10;
	uint32_t w_mm = t->h_active * 254 / 960, h_mm = t->v_active * 254 / 960;

	d[0] = (uint8_t)clock;
	d[1] = (uint8_t)(clock >> 8);
	d[2] = (uint8_t)t->h_active;
	d[3] = (uint8_t)t->h_blank;
	d[4] = (uint8_t)(((t->h_active >> 8) << 4) | (t->h_blank >> 8));
	d[5] = (uint8_t)t->v_active;
	d[6] = (uint8_t)t->v_blank;
	d[7] = (uint8_t)(((t->v_active >> 8) << 4) | (t->v_blank >> 8));
	d[8] = (uint8_t)t->h_front;
	d[9] = (uint8_t)t->h_sync;
	d[10] = (uint8_t)(((t->v_front & 15) << 4) | (t->v_sync & 15));
	d[11] = (uint8_t)(((t->h_front >> 8) << 6) | ((t->h_sync >> 8) << 4) |
			  ((t->v_front >> 4) << 2) | (t->v_sync >> 4));
	d[12] = (uint8_t)w_mm;
	d[13] = (uint8_t)h_mm;
	d[14] = (uint8_t)(((w_mm >> 8) << 4) | (h_mm >> 8));
	/* digital separate sync, with the polarities */
	d[17] = (uint8_t)(0x18 | (t->v_positive ? 4 : 0) | (t->h_positive ? 2 : 0));
}

void vv_display_edid(uint8_t edid[128], uint32_t width, uint32_t height)
{
	static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	/* sRGB primaries and white point, as most monitors report them */
	static const uint8_t chroma[10] = { 0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54 };
	/* VESA DMT 1024x768 at 60 Hz: 65 MHz, both syncs negative */
	static const struct timing dmt_1024x768 = {
		.clock_khz = 65000,
		.h_active = 1024, .h_blank = 320, .h_front = 24, .h_sync = 136,
		.v_active = 768, .v_blank = 38, .v_front = 3, .v_sync = 6,
	};
	static const char name[] = "vhost-video";
	/* EISA manufacturer ID "VVS": three 5-bit letters, big-endian */
	uint16_t maker = (uint16_t)((('V' - '@') << 10) | (('V' - '@') << 5) | ('S' - '@'));
	struct timing t = dmt_1024x768;
	uint32_t h_khz;
	uint8_t sum = 0;
	uint8_t *d;

	if (width != 1024 || height != 768)
		cvt_reduced_blanking(width, height, &t);
	h_khz = t.clock_khz / (t.h_active + t.h_blank);
	memset(edid, 0, 128);
	memcpy(edid, header, sizeof(header));
	edid[8] = (uint8_t)(maker >> 8);
	edid[9] = (uint8_t)maker;
	edid[10] = 0x01;		/* product code */
	edid[16] = 1;			/* week of manufacture */
	edid[17] = 2026 - 1990;		/* year of manufacture */
	edid[18] = 1;			/* EDID 1.4 */
	edid[19] = 4;
	edid[20] = 0x80;		/* digital input */
	edid[21] = (uint8_t)((width * 254 / 960 + 5) / 10);	/* screen size in cm */
	edid[22] = (uint8_t)((height * 254 / 960 + 5) / 10);
	edid[23] = 120;			/* gamma 2.2 */
	edid[24] = 0x06;		/* RGB colour, first timing is the preferred one */
	memcpy(edid + 25, chroma, sizeof(chroma));
	/* Established timings no larger than the mode: 640x480, 800x600, 1024x768 at 60 */
	if (width >= 640 && height >= 480)
		edid[35] |= 0x20;
	if (width >= 800 && height >= 600)
		edid[35] |= 0x01;
	if (width >= 1024 && height >= 768)
		edid[36] |= 0x08;
	for (int i = 38; i < 54; i++)
		edid[i] = 0x01;		/* standard timings unused */
	put_detailed_timing(edid + 54, &t);
	/* Display name descriptor: up to 13 characters, LF terminated, space padded. */
	d = edid + 72;
	d[3] = 0xfc;
	memset(d + 5, ' ', 13);
	memcpy(d + 5, name, sizeof(name) - 1);
	d[5 + sizeof(name) - 1] = '\n';
	/*
	 * Range limits: 50-75 Hz, 30 kHz up to the mode's line rate, its clock;
	 * "range limits only" (no GTF: the display is not continuous-frequency).
	 */
	d = edid + 90;
	d[3] = 0xfd;
	d[5] = 50;
	d[6] = 75;
	d[7] = 30;
	d[8] = (uint8_t)(h_khz + 1 > 80 ? h_khz + 1 : 80);
	d[9] = (uint8_t)((t.clock_khz + 9999) / 10000 > 8 ? (t.clock_khz + 9999) / 10000 : 8);
	d[10] = 0x01;
	d[11] = 0x0a;
	memset(d + 12, ' ', 6);
	/* Dummy descriptor */
	edid[108 + 3] = 0x10;
	for (int i = 0; i < 127; i++)
		sum = (uint8_t)(sum + edid[i]);
	edid[127] = (uint8_t)(0x100 - sum);
}
