// Host images in and out of the shared block: any rowBytes (padded or negative), float or half, bounds anywhere.
#pragma once

#include <cstddef>

namespace changer {

// One host image as the OpenFX image properties describe it (pixel (x1, y1) at `data`, rows going up).
struct ImageView {
  void *data = nullptr;
  int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  int row_bytes = 0;
  int channels = 4;
  bool half = false;

  int width() const { return x2 - x1; }
  int height() const { return y2 - y1; }
};

// Copies `image` into `planes` (channels planes of height x width floats, top row first).
void copy_in(const ImageView &image, float *planes);

// Writes the part of the RGBA `planes` (frame x1..x2, y1..y2; top row first) inside `window` into
// `image`; nothing outside the window is touched. An RGB image takes RGB, an Alpha image takes A.
void copy_out(const float *planes, int fx1, int fy1, int fx2, int fy2, const int window[4], const ImageView &image);

}  // namespace changer
