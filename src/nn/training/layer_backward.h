/* The backward pass of each layer type, one file each
 * (training/<type>_backward.c). Private to src/nn. */
#ifndef EMOTRACE_NN_LAYER_BACKWARD_H
#define EMOTRACE_NN_LAYER_BACKWARD_H

#include "../nn_internal.h"

int et_conv2d_backward(et_layer *layer, et_net *net);
int et_batchnorm_backward(et_layer *layer, et_net *net);
int et_relu_backward(et_layer *layer, et_net *net);
int et_maxpool_backward(et_layer *layer, et_net *net);
int et_global_avgpool_backward(et_layer *layer, et_net *net);
int et_dense_backward(et_layer *layer, et_net *net);
int et_dropout_backward(et_layer *layer, et_net *net);
int et_softmax_backward(et_layer *layer, et_net *net);
int et_depthwise_conv2d_backward(et_layer *layer, et_net *net);
int et_upsample_bilinear_backward(et_layer *layer, et_net *net);
int et_depth_to_space_backward(et_layer *layer, et_net *net);
int et_leaky_relu_backward(et_layer *layer, et_net *net);
int et_prelu_backward(et_layer *layer, et_net *net);
int et_avgpool_backward(et_layer *layer, et_net *net);
int et_add_backward(et_layer *layer, et_net *net);
int et_concat_backward(et_layer *layer, et_net *net);
int et_channel_pad_backward(et_layer *layer, et_net *net);
int et_lstm_backward(et_layer *layer, et_net *net);
int et_zero_pad_backward(et_layer *layer, et_net *net);

#endif
