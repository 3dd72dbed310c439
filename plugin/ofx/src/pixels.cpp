// Pixel copies between host images (interleaved, rows going up) and the sidecar's planes (rows going down).
#include "pixels.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace changer {

namespace {

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mantissa & 0x3FFu) << 13;
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | mantissa << 13;
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

uint16_t float_to_half(float value) {  // round to nearest even, as OpenEXR's half does
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude >= 0x7F800000u) return sign | 0x7C00u | (magnitude > 0x7F800000u ? 0x200u : 0u);
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;  // overflows to infinity
  if (magnitude < 0x38800000u) {                          // subnormal or zero
    if (magnitude < 0x33000000u) return sign;
    uint32_t exponent = magnitude >> 23;
    uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126 - exponent;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1u))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = ((magnitude - 0x38000000u) >> 13);
  uint32_t rest = magnitude & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return sign | static_cast<uint16_t>(half);
}

const unsigned char *row_at(const ImageView &image, int y) {
  return static_cast<const unsigned char *>(image.data) + static_cast<std::ptrdiff_t>(y - image.y1) * image.row_bytes;
}

}  // namespace

void copy_in(const ImageView &image, float *planes) {
  const int w = image.width(), h = image.height(), c = image.channels;
  const size_t plane = static_cast<size_t>(w) * h;
  for (int r = 0; r < h; ++r) {
    const int y = image.y2 - 1 - r;  // top row first
    const unsigned char *src = row_at(image, y);
    for (int ch = 0; ch < c; ++ch) {
      float *dst = planes + ch * plane + static_cast<size_t>(r) * w;
      if (image.half) {
        const uint16_t *s = reinterpret_cast<const uint16_t *>(src) + ch;
        for (int x = 0; x < w; ++x) dst[x] = half_to_float(s[x * c]);
      } else {
        const float *s = reinterpret_cast<const float *>(src) + ch;
        for (int x = 0; x < w; ++x) dst[x] = s[x * c];
      }
    }
  }
}

void copy_out(const float *planes, int fx1, int fy1, int fx2, int fy2, const int window[4], const ImageView &image) {
  const int x1 = std::max({window[0], image.x1, fx1}), x2 = std::min({window[2], image.x2, fx2});
  const int y1 = std::max({window[1], image.y1, fy1}), y2 = std::min({window[3], image.y2, fy2});
  if (x1 >= x2 || y1 >= y2) return;
  const int fw = fx2 - fx1, c = image.channels;
  const size_t plane = static_cast<size_t>(fw) * (fy2 - fy1);
  int source[4] = {0, 1, 2, 3};
  if (c == 1) source[0] = 3;  // an Alpha output takes A
  for (int y = y1; y < y2; ++y) {
    const size_t frame_row = static_cast<size_t>(fy2 - 1 - y) * fw;
    unsigned char *dst_row = const_cast<unsigned char *>(row_at(image, y));
    for (int ch = 0; ch < c; ++ch) {
      const float *src = planes + source[ch] * plane + frame_row + (x1 - fx1);
      if (image.half) {
        uint16_t *d = reinterpret_cast<uint16_t *>(dst_row) + static_cast<size_t>(x1 - image.x1) * c + ch;
        for (int x = 0; x < x2 - x1; ++x) d[x * c] = float_to_half(src[x]);
      } else {
        float *d = reinterpret_cast<float *>(dst_row) + static_cast<size_t>(x1 - image.x1) * c + ch;
        for (int x = 0; x < x2 - x1; ++x) d[x * c] = src[x];
      }
    }
  }
}

}  // namespace changer
