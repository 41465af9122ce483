/* Uses only the installed public header. Prints the version and the number
 * of OpenCL devices, or the NO_DEVICE message; exits 0 in both cases. */
#include <stdio.h>

#include <weft.h>

int main(void)
{
    size_t count = 0;
    weft_status st = weft_device_count(&count);
    if (st == WEFT_OK) {
        printf("weft %s: %zu OpenCL device(s)\n", weft_version(), count);
        return 0;
    }
    if (st == WEFT_ERR_NO_DEVICE) {
        printf("weft %s: NO_DEVICE: %s\n", weft_version(), weft_last_error());
        return 0;
    }
    fprintf(stderr, "weft %s: %s: %s\n", weft_version(), weft_status_name(st),
            weft_last_error());
    return 1;
}
