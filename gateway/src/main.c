/* The gateway binary: HTTP in front of a swarm of actors. */
#include "app.h"

int main(int argc, char **argv)
{
    return gw_main(argc, argv, NULL);
}
