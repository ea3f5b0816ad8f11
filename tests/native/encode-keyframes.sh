#!/usr/bin/env bash
# Frame types and stream headers through the encoder device, every codec the
# plugin encodes (320x240, 40 frames):
#  - --gop 10 (EXT_GOP_SIZE): keyframes at 0,10,20,30 exactly;
#  - --force-key 7,23 with --gop 100: keyframes at 0,7,23 exactly;
#  - --gop 12 --force-key 5: 0,5, then every 12 from the forced one, or
#    from 0 (encoders differ: x264 restarts the GOP, libvpx keeps its grid);
#  in each, the stream's own keyframes (ffprobe -show_frames key_frame) and
#  the IFRAME flags vv-client printed must both be that list (vv-client
#  itself fails on a flag that contradicts --gop/--force-key);
#  - --profile/--level: ffprobe -show_streams reports them (H.264 baseline,
#  main, high, level 3.1 and 4.0; HEVC main; VP8/VP9 profile 0);
#  - --prepend-headers 0 and 1 (H.264, HEVC) with --gop 10: one SPS in the
#  stream, or one per IDR (4).
# Fails if: FORCE_KEYFRAME or EXT_GOP_SIZE does not reach the encoder, lands
# one frame late (the control applies to the next frame queued), the flags
# disagree with the bitstream, or profile/level/SPS mode are not applied.
. "$(dirname "$0")/lib.bash"
need_encoder
start_encoder
WH=320x240 N=40
raw=$(raw_clip $WH $N)
codecs=$(enc_codecs h264 hevc vp8 vp9)
[ -n "$codecs" ] || fail "the plugin encodes none of h264 hevc vp8 vp9"

keys_are() { # CODEC OUT WANT WHAT (WANT: LIST or LIST|LIST)
	local got flags
	[ "$(decode_to "$2" "$TMP/dec.yuv")" = $N ] || fail "$1 $4: not $N frames"
	got=$(stream_keys "$2") flags=$(enc_field keyframes)
	[[ "|$3|" == *"|$got|"* ]] || fail "$1 $4: the stream's keyframes are $got, expected $3"
	[ "$flags" = "$got" ] || fail "$1 $4: IFRAME flags at $flags, the stream's keyframes at $got"
	echo "ok: $1 $4: keyframes $got (stream and flags)"
}

for c in $codecs; do
	out=$TMP/out.$(enc_ext "$c")
	encode "$c" "$raw" $WH "$out" --bitrate 500000 --gop 10 >/dev/null
	keys_are "$c" "$out" 0,10,20,30 "--gop 10"
	encode "$c" "$raw" $WH "$out" --bitrate 500000 --gop 100 --force-key 7,23 >/dev/null
	keys_are "$c" "$out" 0,7,23 "--gop 100 --force-key 7,23"
	encode "$c" "$raw" $WH "$out" --bitrate 500000 --gop 12 --force-key 5 --in-flight 3 >/dev/null
	# the GOP restarts at the forced keyframe (x264, x265) or keeps its grid (libvpx)
	keys_are "$c" "$out" "0,5,17,29|0,5,12,24,36" "--gop 12 --force-key 5 (3 in flight)"
done

# probe FILE: "profile=... level=..." of its video stream
probe() { ffprobe -v error -select_streams v -show_entries stream=profile,level -of default=nw=1 "$1" | tr '\n' ' '; }
profile_is() { # CODEC PROFILE LEVEL WANT_PROFILE_RE [WANT_LEVEL]
	local c=$1 out=$TMP/p.$(enc_ext "$1") got args=(--bitrate 500000)
	[ "$2" != - ] && args+=(--profile "$2")
	[ "$3" != - ] && args+=(--level "$3")
	encode "$c" "$raw" $WH "$out" "${args[@]}" --frames 10 >/dev/null
	got=$(probe "$out")
	[[ $got =~ profile=$4\  ]] || fail "$c --profile $2: ffprobe says '$got'"
	[ -z "${5:-}" ] || [[ $got == *"level=$5 "* ]] || fail "$c --level $3: ffprobe says '$got'"
	echo "ok: $c --profile $2 --level $3: $got"
}
if has_enc h264; then
	profile_is h264 baseline - "(Constrained )?Baseline"
	profile_is h264 main - Main
	profile_is h264 high - High
	profile_is h264 main 3.1 Main 31
	profile_is h264 high 4.0 High 40
fi
has_enc hevc && profile_is hevc main - Main
has_enc vp8 && profile_is vp8 0 - 0
has_enc vp9 && profile_is vp9 0 - "Profile 0"

# SPS before every IDR or only before the first
for c in $(enc_codecs h264 hevc); do
	out=$TMP/h.$(enc_ext "$c") sps=7
	[ "$c" = hevc ] && sps=33
	encode "$c" "$raw" $WH "$out" --bitrate 500000 --gop 10 --prepend-headers 0 >/dev/null
	n=$(nal_count "$out" "$c" $sps)
	[ "$n" = 1 ] || fail "$c --prepend-headers 0: $n SPS NAL units, expected 1"
	[ "$(decode_to "$out" "$TMP/dec.yuv")" = $N ] || fail "$c --prepend-headers 0: not $N frames"
	encode "$c" "$raw" $WH "$out" --bitrate 500000 --gop 10 --prepend-headers 1 >/dev/null
	n=$(nal_count "$out" "$c" $sps) k=$(enc_field keyframes | tr ',' '\n' | grep -c .)
	[ "$n" = 4 ] && [ "$k" = 4 ] || fail "$c --prepend-headers 1: $n SPS NAL units for $k IDRs, expected 4"
	echo "ok: $c --prepend-headers 0: one SPS; 1: one per IDR ($n)"
done
stop_daemon
